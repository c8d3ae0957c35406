"""Writers of every native annotation format for the demo world, all derived from one `WorldPlan`.

Each format copies its upstream layout (column names, order, quoting, separators; see the notes digests) so
the readers in `egoflow.annotations` are exercised exactly as on the real files. Content is built in memory as
bytes (fixed float formatting, sorted JSON keys, pickle protocol 4) so the same plan always gives the same
bytes, then every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from egoflow.annotations import egoclip as egoclip_format
from egoflow.atomic import atomic_write
from egoflow.demo.world import (
    ACTIONS,
    FPS,
    NOUN_INDEX,
    NOUNS,
    RECIPES,
    VERB_INDEX,
    VERBS,
    StepPlan,
    VideoPlan,
    WorldPlan,
)

EGOCLIP_COLUMNS = list(egoclip_format.EGOCLIP_COLUMNS)  # the EgoVLP column order
EPIC_COLUMNS = [
    "narration_id",
    "participant_id",
    "video_id",
    "narration_timestamp",
    "start_timestamp",
    "stop_timestamp",
    "start_frame",
    "stop_frame",
    "narration",
    "verb",
    "verb_class",
    "noun",
    "noun_class",
    "all_nouns",
    "all_noun_classes",
]
CHARADES_COLUMNS = [
    "id",
    "subject",
    "scene",
    "quality",
    "relevance",
    "verified",
    "script",
    "objects",
    "descriptions",
    "actions",
    "length",
]
NOUN_CATEGORY = {
    "apple": "fruits&nuts",
    "lemon": "fruits&nuts",
    "carrot": "vegetables",
    "cup": "crockery",
    "glass": "crockery",
    "jar": "containers",
    "box": "containers",
    "plate": "crockery",
    "board": "utensils",
    "bowl": "crockery",
}
# Verbs whose change is a one-way object state (ChangeIt categories); take/put only move things.
STATE_VERBS = ("cut", "fill", "open", "wash", "paint")
CHANGEIT_CENTERING = 0.3
GTEA_FPS = 15
LTA_HEADER = {"version": "v1", "date": "2026-01-01", "description": "egoflow demo world"}

EGOCLIP = "annotations/egoclip"
EPIC = "annotations/epic-kitchens-100"
CHARADES = "annotations/charades-ego"
LTA = "annotations/ego4d-lta"
CHANGEIT = "annotations/changeit"
PHASES = "annotations/phases"
GTEA = "annotations/gtea"


# --- naming helpers ----------------------------------------------------------------------------------------


def article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def action_name(verb: str, noun: str) -> str:
    """GTEA / mapping.txt label of an action."""
    return f"{verb}_{noun}"


def epic_narration(step: StepPlan) -> str:
    return f"put {step.noun} in bowl" if step.verb == "put" else f"{step.verb} {step.noun}"


def epic_verb(step: StepPlan) -> str:
    return "put-in" if step.verb == "put" else step.verb


def clip_text(step: StepPlan) -> str:
    verb = VERBS[step.verb_class]
    tail = " in the bowl" if step.verb == "put" else ""
    return f"#C C {verb.third_person} the {step.noun}{tail}"


def charades_class(verb: str, noun: str) -> str:
    gerund = VERBS[VERB_INDEX[verb]].gerund
    tail = " in the bowl" if verb == "put" else ""
    return f"{gerund} {article(noun)} {noun}{tail}"


def changeit_categories(plan: WorldPlan) -> list[tuple[str, str]]:
    """(verb, noun) state changes that happen in at least one video of the world, in ACTIONS order."""
    done = {(s.verb, s.noun) for v in plan.videos for s in v.steps}
    return [a for a in ACTIONS if a[0] in STATE_VERBS and a in done]


def changeit_dir(verb: str, noun: str) -> str:
    return f"{verb}_{noun}"


def changeit_annotated(plan: WorldPlan, verb: str, noun: str) -> list[VideoPlan]:
    """Annotated (evaluation) videos of a category: non-train videos where the change happens."""
    return [v for v in plan.by_split("val", "test") if any((s.verb, s.noun) == (verb, noun) for s in v.steps)]


def annotation_paths(plan: WorldPlan) -> list[str]:
    """Every file `write_annotations` writes, relative to the world folder, sorted."""
    return sorted(_builders(plan))


# --- formatting --------------------------------------------------------------------------------------------


def seconds(value: float) -> str:
    return f"{value:.3f}"


def epic_time(value: float, decimals: int) -> str:
    """EPIC timestamps: HH:MM:SS.ss (start/stop) or HH:MM:SS.sss (narration)."""
    scale = 10**decimals
    ticks = round(value * scale)
    whole, frac = divmod(ticks, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}.{frac:0{decimals}d}"


def table_bytes(header: list[str] | None, rows: list[list], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def json_bytes(value) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=1) + "\n").encode("utf-8")


def pickle_bytes(value) -> bytes:
    return pickle.dumps(value, protocol=4)


def list_text(items: list) -> str:
    """Python-list text as in EPIC/EgoClip cells: "['apple', 'bowl']", "[0, 9]"."""
    return "[" + ", ".join(repr(i) for i in items) + "]"


# --- EgoClip / HierVL / EgoMCQ -------------------------------------------------------------------------------


def egoclip_row(video: VideoPlan, k: int, step: StepPlan) -> dict:
    return {
        "video_uid": video.uid,
        "video_dur": round(video.duration, 3),
        "narration_source": "narration_pass_1",
        "narration_ind": k,
        "narration_time": round((step.start_s + step.end_s) / 2, 3),
        "clip_start": round(step.start_s, 3),
        "clip_end": round(step.end_s, 3),
        "clip_text": clip_text(step),
        "tag_verb": list_text([step.verb_class]),
        "tag_noun": list_text([NOUN_INDEX[n] for n in step.nouns]),
    }


def row_cells(row: dict) -> list[str]:
    return [seconds(v) if isinstance(v, float) else str(v) for v in (row[c] for c in EGOCLIP_COLUMNS)]


def summary_text(video: VideoPlan, seen: dict[str, int]) -> str:
    recipe = next(r for r in RECIPES if r.name == video.recipe)
    objects = sorted({s.noun for s in video.steps})
    text = f"#Summary C {recipe.summary} with the {', the '.join(objects)}"
    # HierVL keys its hierarchy by summary text, so equal summaries would overwrite each other.
    seen[text] = seen.get(text, 0) + 1
    return text if seen[text] == 1 else f"{text} (session {seen[text]})"


def summaries(plan: WorldPlan) -> list[tuple[VideoPlan, dict]]:
    seen: dict[str, int] = {}
    out = []
    for video in plan.by_split("train"):
        out.append(
            (
                video,
                {
                    "video_uid": video.uid,
                    "video_dur": round(video.duration, 3),
                    "narration_source": "narration_pass_1",
                    "narration_ind": 0,
                    "narration_time": round(video.duration / 2, 3),
                    "clip_start": 0.0,
                    "clip_end": round(video.duration, 3),
                    "clip_text": summary_text(video, seen),
                    "tag_verb": "[]",
                    "tag_noun": "[]",
                },
            )
        )
    return out


def hierarchy(plan: WorldPlan) -> dict:
    out = {}
    for video, summary in summaries(plan):
        rows = [egoclip_row(video, k, s) for k, s in enumerate(video.steps)]
        rows = [
            r
            for r in rows
            if r["clip_start"] >= summary["clip_start"] and r["clip_end"] <= summary["clip_end"]
        ]
        out[summary["clip_text"]] = {
            "summary_start": summary["clip_start"],
            "summary_end": summary["clip_end"],
            **{
                key: [r[key] for r in rows]
                for key in ("clip_start", "clip_end", "clip_text", "tag_verb", "tag_noun")
            },
        }
    return out


def egomcq(plan: WorldPlan) -> dict:
    """Inter-video (types 1) and intra-video (types 2) questions on the non-train videos."""
    rng = np.random.default_rng([plan.seed, 7])
    held_out = plan.by_split("val", "test")
    # Inter-video distractors come from other held-out videos when there are enough, else from any video.
    pool = held_out if len(held_out) >= 5 else plan.videos
    questions: dict[int, dict] = {}
    for video in held_out:
        rows = [egoclip_row(video, k, s) for k, s in enumerate(video.steps)]
        for k, row in enumerate(rows):
            others = [v for v in pool if v.uid != video.uid]
            picks = [others[int(i)] for i in rng.choice(len(others), size=4, replace=False)]
            wrong = []
            for other in picks:
                j = int(rng.integers(len(other.steps)))
                wrong.append(egoclip_row(other, j, other.steps[j]))
            questions[len(questions)] = _question(rng, row, wrong, 1)
            if len(rows) >= 5:
                wrong = [
                    rows[int(i)]
                    for i in rng.choice([i for i in range(len(rows)) if i != k], 4, replace=False)
                ]
                questions[len(questions)] = _question(rng, row, wrong, 2)
    return {str(k): q for k, q in questions.items()}


def summarymcq(plan: WorldPlan) -> dict:
    """HierVL SummaryMCQ (types 3) on the non-train videos: a video's summary; the choices are its whole window
    and those of 4 other videos."""
    rng = np.random.default_rng([plan.seed, 8])
    held_out = plan.by_split("val", "test")
    pool = held_out if len(held_out) >= 5 else plan.videos
    seen: dict[str, int] = {}

    def window(video: VideoPlan, text: str) -> dict:
        row = {
            **egoclip_row(video, 0, video.steps[0]),
            "clip_start": 0.0,
            "clip_end": round(video.duration, 3),
        }
        return {**row, "clip_text": text, "tag_verb": "[]", "tag_noun": "[]"}

    questions: dict[str, dict] = {}
    for video in held_out:
        others = [v for v in pool if v.uid != video.uid]
        picks = [others[int(i)] for i in rng.choice(len(others), size=4, replace=False)]
        query = window(video, summary_text(video, seen))
        wrong = [window(v, "") for v in picks]
        questions[str(len(questions))] = _question(rng, query, wrong, 3)
    return questions


def _question(rng: np.random.Generator, row: dict, wrong: list[dict], types: int) -> dict:
    answer = int(rng.integers(5))
    choices = wrong[:answer] + [row] + wrong[answer:]
    return {
        "query": row,
        "choices": {str(i): c for i, c in enumerate(choices)},
        "answer": answer,
        "types": types,
    }


# --- EPIC-KITCHENS-100 --------------------------------------------------------------------------------------


def epic_rows(videos: list[VideoPlan]) -> list[list]:
    rows = []
    for video in videos:
        for k, step in enumerate(video.steps):
            rows.append(
                [
                    f"{video.uid}_{k}",
                    video.participant_id,
                    video.uid,
                    epic_time((step.start_s + step.end_s) / 2, 3),
                    epic_time(step.start_s, 2),
                    epic_time(step.end_s, 2),
                    step.start_frame + 1,  # EPIC frames are 1-based, stop inclusive
                    step.end_frame,
                    epic_narration(step),
                    epic_verb(step),
                    step.verb_class,
                    step.noun,
                    step.noun_class,
                    list_text(step.nouns),
                    list_text([NOUN_INDEX[n] for n in step.nouns]),
                ]
            )
    return rows


def epic_class_tables() -> tuple[bytes, bytes]:
    verbs = [
        [i, v.name, list_text([v.name, "put-in"] if v.name == "put" else [v.name]), v.category]
        for i, v in enumerate(VERBS)
    ]
    nouns = [[i, n.name, list_text([n.name]), NOUN_CATEGORY[n.name]] for i, n in enumerate(NOUNS)]
    header = ["id", "key", "instances", "category"]
    return table_bytes(header, verbs), table_bytes(header, nouns)


def retrieval(plan: WorldPlan) -> tuple[bytes, bytes, bytes]:
    """Test rows, the unique-caption table, and relevancy (JPoSE: ½·[same verb] + ½·IoU(noun classes))."""
    rows = epic_rows(plan.by_split("test"))
    sentences: dict[str, list] = {}
    for row in rows:
        sentences.setdefault(row[8], row)
    captions = list(sentences.values())
    relevancy = np.zeros((len(rows), len(captions)), dtype=np.float64)  # (videos, sentences)
    for i, row in enumerate(rows):
        nouns_i = set(json.loads(row[14]))
        for j, caption in enumerate(captions):
            nouns_j = set(json.loads(caption[14]))
            iou = len(nouns_i & nouns_j) / len(nouns_i | nouns_j)
            relevancy[i, j] = 0.5 * (row[10] == caption[10]) + 0.5 * iou
    sentence_table = table_bytes(["narration_id", "narration"], [[c[0], c[8]] for c in captions])
    return table_bytes(EPIC_COLUMNS, rows), sentence_table, pickle_bytes(relevancy)


# --- Charades-Ego -------------------------------------------------------------------------------------------


def charades(plan: WorldPlan, split: str = "test") -> tuple[bytes, bytes]:
    """CharadesEgo_v1_<split>_only1st.csv of the plan's `split` videos (train or test) and the class list."""
    rows = []
    for video in plan.by_split(split):
        recipe = next(r for r in RECIPES if r.name == video.recipe)
        script = f"A person {recipe.summary}."
        objects = sorted({n for s in video.steps for n in s.nouns})
        actions = ";".join(f"c{s.action:03d} {s.start_s:.2f} {s.end_s:.2f}" for s in video.steps)
        quality = relevance = 7  # Charades' 1-7 annotator scores: the demo scripts are always followed
        row = [
            video.uid,
            video.participant_id,
            "Kitchen",
            quality,
            relevance,
            "Yes",
            script,
            ";".join(objects),
        ]
        rows.append([*row, script, actions, f"{video.duration:.2f}"])
    classes = "".join(f"c{i:03d} {charades_class(v, n)}\n" for i, (v, n) in enumerate(ACTIONS))
    return table_bytes(CHARADES_COLUMNS, rows), classes.encode("utf-8")


# --- Ego4D LTA ----------------------------------------------------------------------------------------------


def lta(plan: WorldPlan, split: str) -> bytes:
    """One LTA clip per split: the split's videos played back to back, grouped by procedure.

    Ego4D LTA clips are ~5-minute recordings of one scenario holding ~20-30 actions, often the same
    procedure done again and again, while a demo video holds 4-6 actions: too few for N = 2 observed and
    Z = 20 future ones. So the clip of a split chains its videos grouped by recipe and, within a recipe, by
    the optional steps a video kept (plan order inside a group): a participant making the same dish the same
    way several times over. That makes the long-term future follow from what is observed, as it does in a
    scenario; in plan order, the recipe of the next video is a coin toss and no model can anticipate 20
    actions (measured: tests/test_anticipation_learning.py). Each entry keeps video_uid = the demo video
    holding it (the feature-store key) and times relative to that video (clip_parent_start_sec 0);
    action_idx runs on across the chain, and clip_uid names the chain's first video. The demo writes no LTA
    test file (its val file stands in, unlabelled), so val also chains the test videos: the small world's 4
    val videos alone hold fewer than N + Z actions.
    """
    recipe_order = {r.name: i for i, r in enumerate(RECIPES)}
    videos = sorted(
        plan.by_split(*(("val", "test") if split == "val" else (split,))),
        key=lambda v: (recipe_order[v.recipe], [s.position for s in v.steps]),
    )  # stable: plan order within a procedure
    clips = []
    for video in videos:
        for step in video.steps:
            clips.append(
                {
                    "video_uid": video.uid,
                    "clip_uid": videos[0].uid,
                    "clip_id": 0,
                    "clip_parent_start_sec": 0.0,
                    "clip_parent_end_sec": round(video.duration, 3),
                    "clip_parent_start_frame": 0,
                    "clip_parent_end_frame": video.n_frames,
                    "interval_start_sec": 0.0,
                    "interval_end_sec": round(video.duration, 3),
                    "interval_start_frame": 0,
                    "interval_end_frame": video.n_frames,
                    "action_idx": len(clips),
                    "action_clip_start_sec": round(step.start_s, 3),
                    "action_clip_end_sec": round(step.end_s, 3),
                    "action_clip_start_frame": step.start_frame,
                    "action_clip_end_frame": step.end_frame,
                    "verb": step.verb,
                    "noun": step.noun,
                    "verb_label": step.verb_class,
                    "noun_label": step.noun_class,
                }
            )
    return json_bytes({**LTA_HEADER, "split": split, "clips": clips})


# --- ChangeIt -----------------------------------------------------------------------------------------------


def changeit_labels(video: VideoPlan, verb: str, noun: str) -> list[int]:
    """Per-second labels with ChangeIt's semantics: 2 on every second overlapping the state change, 1 on every
    second before it and 3 on every second after it (the object is in view, in its initial or end state, for the
    whole demo video, so no second is background 0).
    """
    step = next(s for s in video.steps if (s.verb, s.noun) == (verb, noun))
    start, end = step.change[0] / FPS, step.change[1] / FPS
    n_seconds = int(np.ceil(video.duration))
    first, stop = int(np.floor(start)), min(int(np.ceil(end)), n_seconds)  # action seconds [first, stop)
    return [1] * first + [2] * (stop - first) + [3] * (n_seconds - stop)


def changeit_video_list(plan: WorldPlan, verb: str, noun: str) -> list[list]:
    """Videos showing the object; relevance is high where the change happens, low where it only sits there."""
    rng = np.random.default_rng([plan.seed, 11, NOUN_INDEX[noun], VERB_INDEX[verb]])
    rows = []
    for video in plan.videos:
        if not any(o.noun == noun for o in video.objects):
            continue
        changed = any((s.verb, s.noun) == (verb, noun) for s in video.steps)
        score = rng.uniform(0.35, 0.75) if changed else rng.uniform(0.05, 0.25)
        rows.append([video.uid, f"{score:.3f}"])
    return rows


# --- phases (CARL) and GTEA ---------------------------------------------------------------------------------


def phase_labels(video: VideoPlan) -> np.ndarray:
    """Per-frame phase: 1 + recipe position of the latest started step, 0 before the first step. (T,) int64."""
    labels = np.zeros(video.n_frames, dtype=np.int64)
    for step in video.steps:
        labels[step.start_frame :] = step.position + 1
    return labels


def phases(plan: WorldPlan, split: str) -> bytes:
    items = [
        {
            "id": video.index,
            "video_file": video.video_file,  # relative to the world folder, as in the sheet
            "frame_label": phase_labels(video),
            "seq_len": video.n_frames,
            "name": video.uid,
        }
        for video in plan.by_split(split)
    ]
    return pickle_bytes(items)


def gtea_labels(video: VideoPlan) -> list[str]:
    """One label per 15 fps frame (every second 30 fps frame): the action name or "background"."""
    step_of = ["background"] * video.n_frames
    for step in video.steps:
        step_of[step.start_frame : step.end_frame] = [action_name(step.verb, step.noun)] * (
            step.end_frame - step.start_frame
        )
    return step_of[:: FPS // GTEA_FPS]


# --- all files ----------------------------------------------------------------------------------------------


def _builders(plan: WorldPlan) -> dict[str, Callable[[], bytes]]:
    """Relative path -> function that builds its bytes (paths are cheap, content is built on demand)."""
    b: dict[str, Callable[[], bytes]] = {}
    b[f"{EGOCLIP}/egoclip.csv"] = lambda: table_bytes(
        EGOCLIP_COLUMNS,
        [row_cells(egoclip_row(v, k, s)) for v in plan.by_split("train") for k, s in enumerate(v.steps)],
        delimiter="\t",
    )
    b[f"{EGOCLIP}/egosummary_full.csv"] = lambda: table_bytes(
        EGOCLIP_COLUMNS, [row_cells(row) for _, row in summaries(plan)], delimiter="\t"
    )
    b[f"{EGOCLIP}/summary_clips_hierarchy_full.json"] = lambda: json_bytes(hierarchy(plan))
    b[f"{EGOCLIP}/egomcq.json"] = lambda: json_bytes(egomcq(plan))
    b[f"{EGOCLIP}/summarymcq_full.json"] = lambda: json_bytes(summarymcq(plan))

    b[f"{EPIC}/EPIC_100_train.csv"] = lambda: table_bytes(EPIC_COLUMNS, epic_rows(plan.by_split("train")))
    b[f"{EPIC}/EPIC_100_validation.csv"] = lambda: table_bytes(EPIC_COLUMNS, epic_rows(plan.by_split("val")))
    b[f"{EPIC}/EPIC_100_verb_classes.csv"] = lambda: epic_class_tables()[0]
    b[f"{EPIC}/EPIC_100_noun_classes.csv"] = lambda: epic_class_tables()[1]
    b[f"{EPIC}/EPIC_100_retrieval_test.csv"] = lambda: retrieval(plan)[0]
    b[f"{EPIC}/EPIC_100_retrieval_test_sentence.csv"] = lambda: retrieval(plan)[1]
    b[f"{EPIC}/caption_relevancy_EPIC_100_retrieval_test.pkl"] = lambda: retrieval(plan)[2]

    b[f"{CHARADES}/CharadesEgo_v1_train_only1st.csv"] = lambda: charades(plan, "train")[0]
    b[f"{CHARADES}/CharadesEgo_v1_test_only1st.csv"] = lambda: charades(plan)[0]
    b[f"{CHARADES}/Charades_v1_classes.txt"] = lambda: charades(plan)[1]

    b[f"{LTA}/fho_lta_train.json"] = lambda: lta(plan, "train")
    b[f"{LTA}/fho_lta_val.json"] = lambda: lta(plan, "val")
    b[f"{LTA}/fho_lta_taxonomy.json"] = lambda: json_bytes(
        {"verbs": [v.name for v in VERBS], "nouns": [n.name for n in NOUNS]}
    )

    categories = changeit_categories(plan)
    b[f"{CHANGEIT}/categories.csv"] = lambda: table_bytes(
        ["DIR_NAME", "ACTION_NAME", "CENTERING_PARAM"],
        [
            [changeit_dir(v, n), f"{n.capitalize()} {VERBS[VERB_INDEX[v]].gerund}", CHANGEIT_CENTERING]
            for v, n in categories
        ],
    )
    b[f"{CHANGEIT}/labels.csv"] = lambda: (
        b'LABEL_ID,MEANING\n0,"background/noannotation"\n1,"state1"\n2,"action"\n3,"state2"\n'
    )
    for verb, noun in categories:
        name = changeit_dir(verb, noun)
        b[f"{CHANGEIT}/videos/{name}.csv"] = lambda v=verb, n=noun: table_bytes(
            None, changeit_video_list(plan, v, n)
        )
        for video in changeit_annotated(plan, verb, noun):
            b[f"{CHANGEIT}/annotations/{name}/{video.uid}.fps1.csv"] = lambda v=verb, n=noun, video=video: (
                table_bytes(None, [[s, label] for s, label in enumerate(changeit_labels(video, v, n))])
            )

    for split in ("train", "val", "test"):
        b[f"{PHASES}/{split}.pkl"] = lambda split=split: phases(plan, split)

    for video in plan.videos:
        b[f"{GTEA}/groundTruth/{video.uid}.txt"] = lambda video=video: "".join(
            f"{label}\n" for label in gtea_labels(video)
        ).encode("utf-8")
    b[f"{GTEA}/mapping.txt"] = lambda: "".join(
        f"{i} {name}\n" for i, name in enumerate(["background"] + [action_name(v, n) for v, n in ACTIONS])
    ).encode("utf-8")
    b[f"{GTEA}/splits/train.split1.bundle"] = lambda: "".join(
        f"{v.uid}.txt\n" for v in plan.by_split("train")
    ).encode("utf-8")
    b[f"{GTEA}/splits/test.split1.bundle"] = lambda: "".join(
        f"{v.uid}.txt\n" for v in plan.by_split("val", "test")
    ).encode("utf-8")
    return b


def build_annotations(plan: WorldPlan) -> dict[str, bytes]:
    """Every annotation file's bytes, keyed by its path relative to the world folder."""
    return {path: build() for path, build in sorted(_builders(plan).items())}


def write_annotations(plan: WorldPlan, root: str | Path) -> list[str]:
    root = Path(root)
    files = build_annotations(plan)
    for path, content in files.items():
        with atomic_write(root / path, "wb") as handle:
            handle.write(content)
    return list(files)
