"""The demo world as pure data: who does which recipe, where every object sits, when every state changes.

`plan_world(size, seed)` is cheap (numpy only, no rendering) so the workflow can list every file the demo
rule will write at parse time. The renderer and the annotation writers both read the same plan, which is
why the frames and every native annotation format agree to the frame.

A recipe is a fixed ordered list of (verb, noun) steps, some optional; a step changes one object's visible
state (cut into halves, filled, lid opened, colour painted, dirt washed, moved to the work area or the bowl).
Distractors are copies of the recipe's objects that never change, so a single colour never names the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FPS = 30

# --- catalogue -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Noun:
    name: str
    shape: str  # disk | bar | cup | lidbox | plate | slab | bowl: how render.py draws it
    colour: tuple[int, int, int]
    dirty: bool = False  # starts with dirt spots that `wash` removes


NOUNS = [
    Noun("apple", "disk", (200, 30, 40)),
    Noun("lemon", "disk", (235, 210, 40)),
    Noun("carrot", "bar", (240, 120, 20)),
    Noun("cup", "cup", (215, 215, 220)),
    Noun("glass", "cup", (120, 190, 230)),
    Noun("jar", "lidbox", (150, 95, 50)),
    Noun("box", "lidbox", (40, 150, 70)),
    Noun("plate", "plate", (245, 245, 240), dirty=True),
    Noun("board", "slab", (200, 160, 100), dirty=True),
    Noun("bowl", "bowl", (90, 90, 110)),
]
NOUN_INDEX = {n.name: i for i, n in enumerate(NOUNS)}


@dataclass(frozen=True)
class Verb:
    name: str
    field: str  # the object state the verb changes
    third_person: str  # EgoClip narrations: "#C C cuts the apple"
    gerund: str  # Charades class names: "Cutting an apple"
    category: str  # EPIC class-table category


VERBS = [
    Verb("take", "pos", "takes", "Taking", "retrieve"),
    Verb("put", "pos", "puts", "Putting", "leave"),
    Verb("wash", "dirt", "washes", "Washing", "clean"),
    Verb("open", "lid", "opens", "Opening", "access"),
    Verb("close", "lid", "closes", "Closing", "access"),
    Verb("cut", "cut", "cuts", "Cutting", "cut"),
    Verb("fill", "fill", "fills", "Filling", "pour"),
    Verb("paint", "colour", "paints", "Painting", "transform"),
]
VERB_INDEX = {v.name: i for i, v in enumerate(VERBS)}
PAINT_COLOUR = (40, 70, 210)
LIQUID_COLOUR = (60, 110, 200)


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str  # "#Summary C <summary> ..." in HierVL files
    steps: tuple[tuple[str, str, bool], ...]  # (verb, noun, optional)


RECIPES = [
    Recipe(
        "fruit_salad",
        "makes a fruit salad",
        (
            ("take", "apple", False),
            ("cut", "apple", False),
            ("put", "apple", False),
            ("cut", "lemon", True),
            ("put", "lemon", False),
        ),
    ),
    Recipe(
        "tea",
        "makes a cup of tea",
        (
            ("open", "jar", False),
            ("fill", "cup", False),
            ("close", "jar", False),
            ("wash", "plate", True),
            ("take", "cup", False),
        ),
    ),
    Recipe(
        "craft",
        "paints a board and packs a carrot",
        (
            ("take", "board", False),
            ("wash", "board", True),
            ("paint", "board", False),
            ("open", "box", False),
            ("put", "carrot", False),
            ("close", "box", False),
        ),
    ),
    Recipe(
        "dishes",
        "washes the dishes",
        (
            ("take", "plate", False),
            ("wash", "plate", False),
            ("fill", "glass", False),
            ("put", "plate", False),
            ("take", "glass", True),
        ),
    ),
    Recipe(
        "pantry",
        "prepares a carrot from the pantry",
        (
            ("open", "box", False),
            ("take", "carrot", False),
            ("cut", "carrot", False),
            ("put", "carrot", False),
            ("close", "box", True),
        ),
    ),
]
# Every (verb, noun) pair any recipe can produce, in a fixed order: the action classes (Charades, GTEA).
ACTIONS = sorted(
    {(v, n) for r in RECIPES for v, n, _ in r.steps}, key=lambda a: (VERB_INDEX[a[0]], NOUN_INDEX[a[1]])
)
MAX_STEPS = max(len(r.steps) for r in RECIPES)  # phase labels run 0..MAX_STEPS (0: before the first step)


# --- sizes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeSpec:
    participants: int
    videos_per_participant: int
    width: int
    height: int
    step_s: tuple[float, float]  # duration of one step (hand reaches, state changes, hand leaves)
    gap_s: tuple[float, float]  # idle time between steps
    lead_s: float  # idle time before the first and after the last step
    distractors: tuple[int, int]  # unchanging copies of recipe objects (inclusive range)
    extras: tuple[int, int]  # unrelated catalogue objects
    clutter: tuple[int, int]  # small static rectangles


SIZES = {
    "tiny": SizeSpec(3, 2, 128, 96, (1.1, 1.5), (0.2, 0.4), 0.8, (1, 2), (0, 1), (3, 6)),
    "small": SizeSpec(6, 4, 320, 240, (3.0, 4.5), (0.8, 1.8), 1.5, (1, 3), (1, 2), (6, 12)),
    "medium": SizeSpec(24, 10, 320, 240, (3.0, 4.5), (0.8, 1.8), 1.5, (1, 3), (1, 2), (6, 12)),
    # Many tiny videos: enough held-out narrations (~330 EgoMCQ questions) for learning claims to mean something.
    "wide": SizeSpec(20, 6, 128, 96, (1.1, 1.5), (0.2, 0.4), 0.8, (1, 2), (0, 1), (3, 6)),
}
# Layout grid: objects sit in cells; one cell is the work area (`take`), one holds the bowl (`put`).
GRID_COLS, GRID_ROWS = 4, 3
WORK_CELL = (1, 2)  # (col, row)
# Split of consecutive videos, repeated: 4 train, 1 val, 1 test.
SPLIT_PATTERN = ("train", "train", "train", "train", "val", "test")


# --- plan -------------------------------------------------------------------------------------------------


@dataclass
class ObjectPlan:
    noun: str
    x: float  # centre, pixels
    y: float
    size: float  # pixels (diameter / side)
    acted: bool  # a recipe step acts on it (False: distractor or extra)
    # state events: (first_frame, last_frame, field, start_value, end_value), the change is linear in between
    events: list[tuple[int, int, str, object, object]] = field(default_factory=list)

    @property
    def kind(self) -> Noun:
        return NOUNS[NOUN_INDEX[self.noun]]

    def initial_state(self) -> dict:
        return {
            "pos": (self.x, self.y),
            "cut": 0.0,
            "fill": 0.0,
            "lid": 0.0,
            "dirt": 1.0 if self.kind.dirty else 0.0,
            "colour": self.kind.colour,
        }

    def state_at(self, frame: float) -> dict:
        """Object state at `frame`: every event that started is applied, the running one partially."""
        state = self.initial_state()
        for first, last, name, start, end in self.events:
            if frame < first:
                break
            t = 1.0 if frame >= last else (frame - first) / max(last - first, 1)
            if isinstance(start, tuple):
                state[name] = tuple(a + (b - a) * t for a, b in zip(start, end, strict=True))
            else:
                state[name] = start + (end - start) * t
        return state


@dataclass
class StepPlan:
    position: int  # index of the step in the recipe's full list: the phase label
    verb: str
    noun: str
    target: int  # index into VideoPlan.objects
    start_frame: int  # first frame of the step (0-based, inclusive)
    end_frame: int  # one past the last frame
    change: tuple[int, int]  # frames over which the object's state changes

    @property
    def verb_class(self) -> int:
        return VERB_INDEX[self.verb]

    @property
    def noun_class(self) -> int:
        return NOUN_INDEX[self.noun]

    @property
    def nouns(self) -> list[str]:
        """All nouns of the action (EPIC `all_nouns`): `put` also names the bowl."""
        return [self.noun, "bowl"] if self.verb == "put" else [self.noun]

    @property
    def action(self) -> int:
        return ACTIONS.index((self.verb, self.noun))

    @property
    def start_s(self) -> float:
        return self.start_frame / FPS

    @property
    def end_s(self) -> float:
        return self.end_frame / FPS


@dataclass
class VideoPlan:
    index: int
    uid: str  # EPIC-style P01_01
    participant_id: str
    split: str
    recipe: str
    n_frames: int
    width: int
    height: int
    seed: tuple[int, ...]  # seeds the renderer's per-video generator (jitter, clutter, noise)
    background: tuple[int, int, int]
    clutter: list[tuple[int, int, int, int, tuple[int, int, int]]]  # x, y, w, h, colour
    objects: list[ObjectPlan]
    steps: list[StepPlan]

    @property
    def duration(self) -> float:
        return self.n_frames / FPS

    @property
    def video_file(self) -> str:
        return f"videos/{self.uid}.mp4"


@dataclass
class WorldPlan:
    size: str
    seed: int
    spec: SizeSpec
    videos: list[VideoPlan]

    def video_files(self) -> list[str]:
        return [v.video_file for v in self.videos]

    def annotation_files(self) -> list[str]:
        from egoflow.demo.annotations import annotation_paths

        return annotation_paths(self)

    def sheet_table(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "video_uid": [v.uid for v in self.videos],
                "path": [v.video_file for v in self.videos],
                "split": [v.split for v in self.videos],
                "participant_id": [v.participant_id for v in self.videos],
            }
        )

    def by_split(self, *splits: str) -> list[VideoPlan]:
        return [v for v in self.videos if v.split in splits]


def plan_world(size: str, seed: int) -> WorldPlan:
    """Plan every video of the demo world of `size` ("tiny", "small", "medium", "wide"); deterministic in (size, seed)."""
    if size not in SIZES:
        raise ValueError(f"demo size {size!r} is not one of {', '.join(SIZES)}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"demo seed must be a non-negative integer, got {seed!r}")
    spec = SIZES[size]
    videos = []
    for p in range(spec.participants):
        for k in range(spec.videos_per_participant):
            index = p * spec.videos_per_participant + k
            videos.append(_plan_video(spec, int(seed), index, f"P{p + 1:02d}", f"P{p + 1:02d}_{k + 1:02d}"))
    return WorldPlan(size, int(seed), spec, videos)


def _plan_video(spec: SizeSpec, seed: int, index: int, participant: str, uid: str) -> VideoPlan:
    rng = np.random.default_rng([seed, index, 0])
    # Consecutive blocks of len(RECIPES) videos hold each recipe once, in a seeded order.
    block = np.random.default_rng([seed, index // len(RECIPES), 1]).permutation(len(RECIPES))
    recipe = RECIPES[int(block[index % len(RECIPES)])]
    split = SPLIT_PATTERN[index % len(SPLIT_PATTERN)]
    cell_w, cell_h = spec.width / GRID_COLS, spec.height / GRID_ROWS
    obj_size = 0.62 * min(cell_w, cell_h)

    # Random draws are batched per video: planning runs on every snakemake parse, numpy scalars are slow.
    free = [(c, r) for r in range(GRID_ROWS) for c in range(GRID_COLS) if (c, r) != WORK_CELL]
    jitter = rng.uniform(-0.08, 0.08, size=(len(free), 2)).tolist()
    cells = [
        ((free[i][0] + 0.5 + jx) * cell_w, (free[i][1] + 0.5 + jy) * cell_h)
        for i, (jx, jy) in zip(rng.permutation(len(free)).tolist(), jitter, strict=True)
    ]  # shuffled cell centres, each nudged a little
    bowl_cell = cells.pop()

    keep = rng.random(len(recipe.steps)).tolist()
    steps_wanted = [
        (i, v, n) for i, (v, n, optional) in enumerate(recipe.steps) if not optional or keep[i] < 0.5
    ]
    acted = list(dict.fromkeys(n for _, _, n in steps_wanted))
    n_distractors = int(rng.integers(spec.distractors[0], spec.distractors[1] + 1))
    distractors = [acted[int(i)] for i in rng.integers(0, len(acted), size=n_distractors)]
    unrelated = [n.name for n in NOUNS if n.name not in acted and n.name != "bowl"]
    n_extras = int(rng.integers(spec.extras[0], spec.extras[1] + 1))
    extras = [unrelated[int(i)] for i in rng.choice(len(unrelated), size=n_extras, replace=False)]

    objects = [ObjectPlan("bowl", *bowl_cell, obj_size * 1.15, acted=False)]
    for noun in acted:
        objects.append(ObjectPlan(noun, *cells.pop(), obj_size, acted=True))
    for noun in distractors + extras:
        objects.append(ObjectPlan(noun, *cells.pop(), obj_size, acted=False))
    target_of = {o.noun: i for i, o in enumerate(objects) if o.acted}

    # Timeline: lead, then (step, gap)*, then lead; the state changes in the middle half of a step.
    frame = round(spec.lead_s * FPS)
    steps = []
    work = ((WORK_CELL[0] + 0.5) * cell_w, (WORK_CELL[1] + 0.5) * cell_h)
    bowl = (objects[0].x, objects[0].y)
    n_taken = n_put = 0
    lengths = rng.uniform(*spec.step_s, size=len(steps_wanted)).tolist()
    gaps = rng.uniform(*spec.gap_s, size=len(steps_wanted)).tolist()
    for k, (position, verb, noun) in enumerate(steps_wanted):
        length = round(lengths[k] * FPS)
        change = (frame + length // 4, frame + (3 * length) // 4)
        target = objects[target_of[noun]]
        state = target.state_at(change[0])
        if verb == "take":
            end = (work[0] + 0.12 * cell_w * n_taken, work[1])
            n_taken += 1
            target.events.append((*change, "pos", state["pos"], end))
        elif verb == "put":
            end = (bowl[0] + 0.1 * cell_w * (n_put - 0.5), bowl[1] - 0.08 * cell_h)
            n_put += 1
            target.events.append((*change, "pos", state["pos"], end))
        elif verb == "open":
            target.events.append((*change, "lid", state["lid"], 1.0))
        elif verb == "close":
            target.events.append((*change, "lid", state["lid"], 0.0))
        elif verb == "cut":
            target.events.append((*change, "cut", 0.0, 1.0))
        elif verb == "fill":
            target.events.append((*change, "fill", 0.0, 1.0))
        elif verb == "wash":
            target.events.append((*change, "dirt", state["dirt"], 0.0))
        elif verb == "paint":
            target.events.append((*change, "colour", state["colour"], PAINT_COLOUR))
        steps.append(StepPlan(position, verb, noun, target_of[noun], frame, frame + length, change))
        frame += length + round(gaps[k] * FPS)
    n_frames = frame + round(spec.lead_s * FPS)
    n_frames += n_frames % 2  # even, so GTEA's 15 fps labels are exactly every second frame

    n_clutter = int(rng.integers(spec.clutter[0], spec.clutter[1] + 1))
    frame_size = np.array([spec.width, spec.height])
    wh = (rng.uniform(0.04, 0.12, size=(n_clutter, 2)) * frame_size).astype(int) + 2  # (n, 2)
    xy = (rng.random((n_clutter, 2)) * (frame_size - wh)).astype(int)  # (n, 2), inside the frame
    background = rng.integers(120, 170, size=3)
    # Clutter is muted towards the table colour so it reads as background, not as another object.
    colours = (0.5 * rng.integers(40, 220, size=(n_clutter, 3)) + 0.5 * background).astype(int)  # (n, 3)
    clutter = [
        (x, y, w, h, tuple(c))
        for (x, y), (w, h), c in zip(xy.tolist(), wh.tolist(), colours.tolist(), strict=True)
    ]
    background = tuple(background.tolist())
    return VideoPlan(
        index=index,
        uid=uid,
        participant_id=participant,
        split=split,
        recipe=recipe.name,
        n_frames=int(n_frames),
        width=spec.width,
        height=spec.height,
        seed=(seed, index, 2),
        background=background,
        clutter=clutter,
        objects=objects,
        steps=steps,
    )
