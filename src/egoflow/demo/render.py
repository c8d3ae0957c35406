"""Draw a planned demo video with vectorised numpy and encode it with ffmpeg (H.264, yuv420p, 30 fps).

Frames are composed on a canvas a few pixels larger than the video so camera jitter is a crop. The static
part (table, clutter, every object that is not changing right now) is redrawn only when some object starts
or stops changing; each frame then copies it and draws the changing object and the hand, so a frame costs
one copy plus two small bounding boxes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from egoflow.atomic import atomic_path
from egoflow.demo.world import FPS, LIQUID_COLOUR, ObjectPlan, StepPlan, VideoPlan

SKIN = np.array([225, 170, 140], dtype=np.uint8)
SLEEVE = np.array([50, 60, 120], dtype=np.uint8)
FLESH = np.array([250, 240, 200], dtype=np.float32)
DIRT = np.array([110, 80, 40], dtype=np.float32)
INSIDE = np.array([45, 45, 50], dtype=np.float32)


def jitter_margin(video: VideoPlan) -> int:
    return max(2, round(0.015 * video.width))


def camera_offsets(video: VideoPlan) -> np.ndarray:
    """(T, 2) integer (dx, dy) crop offsets in [-J, J]: two slow sinusoids per axis plus a small tremor."""
    rng = np.random.default_rng(video.seed)
    margin = jitter_margin(video)
    t = np.arange(video.n_frames)[:, None]  # (T, 1)
    periods = rng.uniform(40, 120, size=(2, 2))  # (component, axis) in frames
    phases = rng.uniform(0, 2 * np.pi, size=(2, 2))
    slow = 0.55 * np.sin(2 * np.pi * t / periods[0] + phases[0]) + 0.3 * np.sin(
        2 * np.pi * t / periods[1] + phases[1]
    )
    tremor = rng.uniform(-0.15, 0.15, size=(video.n_frames, 2))
    return np.clip(np.rint(margin * (slow + tremor)), -margin, margin).astype(int)  # (T, 2)


def base_layer(video: VideoPlan) -> np.ndarray:
    """Table with a vertical gradient, fixed grain and clutter, on the padded canvas. (H+2J, W+2J, 3) uint8."""
    rng = np.random.default_rng((*video.seed, 1))
    margin = jitter_margin(video)
    height, width = video.height + 2 * margin, video.width + 2 * margin
    shade = np.linspace(1.1, 0.85, height, dtype=np.float32)[:, None, None]  # (H', 1, 1)
    canvas = np.asarray(video.background, dtype=np.float32) * shade + rng.normal(0, 4, (height, width, 3))
    for x, y, w, h, colour in video.clutter:
        canvas[y + margin : y + margin + h, x + margin : x + margin + w] = colour
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _region(canvas: np.ndarray, cx: float, cy: float, half_w: float, half_h: float):
    """A view of the canvas around (cx, cy) and pixel-centre coordinates relative to it: xs (1, w), ys (h, 1)."""
    height, width = canvas.shape[:2]
    x0, x1 = max(int(np.floor(cx - half_w)), 0), min(int(np.ceil(cx + half_w)) + 1, width)
    y0, y1 = max(int(np.floor(cy - half_h)), 0), min(int(np.ceil(cy + half_h)) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None, None, None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx  # (1, w)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy  # (h, 1)
    return canvas[y0:y1, x0:x1], xs, ys


def _paint(region: np.ndarray, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
    if alpha <= 0 or not mask.any():
        return
    colour = np.asarray(colour, dtype=np.float32)
    if alpha >= 1:
        region[mask] = np.clip(colour, 0, 255).astype(np.uint8)
    else:
        old = region[mask].astype(np.float32)
        region[mask] = np.clip(old + (colour - old) * alpha, 0, 255).astype(np.uint8)


def _spots(obj: ObjectPlan) -> np.ndarray:
    """Fixed dirt spot centres for a washable object, relative to its centre in units of its size. (6, 2)."""
    rng = np.random.default_rng([int(obj.x * 10), int(obj.y * 10), 5])
    return rng.uniform(-0.28, 0.28, size=(6, 2))


def draw_object(canvas: np.ndarray, obj: ObjectPlan, state: dict, margin: int) -> None:
    s = obj.size
    cx, cy = state["pos"][0] + margin, state["pos"][1] + margin
    colour = np.asarray(state["colour"], dtype=np.float32)
    shape = obj.kind.shape
    if shape in ("disk", "bar"):
        gap = state["cut"] * 0.3 * s
        half_w, half_h = (s / 2 + gap / 2, s / 2) if shape == "disk" else (s / 2 + gap / 2, 0.16 * s)
        region, xs, ys = _region(canvas, cx, cy, half_w + 1, half_h + 1)
        if region is None:
            return
        left, right = xs + gap / 2, xs - gap / 2  # each half is the whole shape shifted away from the cut
        if shape == "disk":
            r2 = (s / 2) ** 2
            halves = [(left**2 + ys**2 <= r2) & (left < 0), (right**2 + ys**2 <= r2) & (right >= 0)]
        else:
            inside_y = np.abs(ys) <= 0.16 * s
            halves = [
                (np.abs(left) <= s / 2) & (left < 0) & inside_y,
                (np.abs(right) <= s / 2) & (right >= 0) & inside_y,
            ]
        for mask in halves:
            _paint(region, mask, colour)
        if state["cut"] > 0:  # the cut faces show the light flesh
            band = 0.45 * (s / 2) * min(1.0, 3 * state["cut"])
            _paint(region, halves[0] & (left > -band), FLESH)
            _paint(region, halves[1] & (right < band), FLESH)
        if shape == "bar":  # leafy end tells a carrot from an orange block
            _paint(region, halves[0] & (left < -0.38 * s), (60, 160, 60))
    elif shape == "cup":
        half_w, half_h, wall = 0.35 * s, 0.5 * s, max(2.0, 0.1 * s)
        region, xs, ys = _region(canvas, cx, cy, half_w + 1, half_h + 1)
        if region is None:
            return
        outer = (np.abs(xs) <= half_w) & (np.abs(ys) <= half_h)
        inner = (np.abs(xs) <= half_w - wall) & (ys <= half_h - wall)
        _paint(region, outer & ~inner, colour)
        _paint(region, outer & inner, INSIDE)
        level = (half_h - wall) - state["fill"] * 0.9 * (2 * half_h - wall)  # liquid surface, rising
        _paint(region, outer & inner & (ys >= level), LIQUID_COLOUR)
    elif shape == "lidbox":
        lid = state["lid"]
        half_w, top = 0.5 * s, -0.25 * s
        region, xs, ys = _region(canvas, cx + 0.3 * s, cy - 0.1 * s, 1.0 * s, 0.75 * s)
        if region is None:
            return
        xs, ys = xs + 0.3 * s, ys - 0.1 * s  # back to coordinates relative to the object centre
        body = (np.abs(xs) <= half_w) & (ys >= top) & (ys <= 0.45 * s)
        _paint(region, body, colour)
        _paint(region, body & (ys <= top + 0.3 * s) & (np.abs(xs) <= half_w - 2), INSIDE, alpha=lid)
        lid_x, lid_y = 0.45 * s * lid, top - 0.08 * s - 0.35 * s * lid
        lid_mask = (np.abs(xs - lid_x) <= 0.55 * s) & (np.abs(ys - lid_y) <= 0.08 * s)
        _paint(region, lid_mask, colour * 0.65)
    elif shape in ("plate", "slab"):
        colour = colour * (1 - 0.3 * state["dirt"])  # grime darkens the whole surface, spots on top
        half_w, half_h = 0.5 * s, (0.5 if shape == "plate" else 0.36) * s
        region, xs, ys = _region(canvas, cx, cy, half_w + 1, half_h + 1)
        if region is None:
            return
        if shape == "plate":
            body = xs**2 + ys**2 <= (0.5 * s) ** 2
            _paint(region, body, colour * 0.85)
            _paint(region, xs**2 + ys**2 <= (0.36 * s) ** 2, colour)
        else:
            body = (np.abs(xs) <= half_w) & (np.abs(ys) <= half_h)
            _paint(region, body, colour)
        if state["dirt"] > 0:
            for dx, dy in _spots(obj):
                spot = (xs - dx * s) ** 2 + (ys - dy * s) ** 2 <= (0.12 * s) ** 2
                _paint(region, body & spot, DIRT, alpha=state["dirt"])
    elif shape == "bowl":
        r = s / 2
        region, xs, ys = _region(canvas, cx, cy, r + 1, r + 1)
        if region is None:
            return
        body = (xs**2 + ys**2 <= r**2) & (ys >= -0.15 * r)
        _paint(region, body, colour)
        _paint(region, body & (ys <= 0.0), colour * 1.5)  # rim
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _smooth(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def hand_position(video: VideoPlan, frame: int) -> tuple[float, float]:
    """Hand centre in video pixels: resting at the bottom edge, reaching the step's object, working, leaving."""
    rest = (0.8 * video.width, 1.06 * video.height)
    step: StepPlan | None = next((s for s in video.steps if s.start_frame <= frame < s.end_frame), None)
    if step is None:
        sway = 0.02 * video.width * np.sin(frame / 17.0)
        return rest[0] + sway, rest[1]
    obj = video.objects[step.target]
    ox, oy = obj.state_at(frame)["pos"]
    s = obj.size
    t = frame - step.change[0]
    wiggle = {
        "cut": (0.0, 0.25 * s * np.sin(t * 0.9)),
        "wash": (0.2 * s * np.cos(t * 0.5), 0.2 * s * np.sin(t * 0.5)),
        "paint": (0.3 * s * np.sin(t * 0.35), 0.0),
        "fill": (0.0, -0.6 * s),
        "open": (0.3 * s, -0.45 * s),
        "close": (0.3 * s, -0.45 * s),
    }.get(step.verb, (0.0, 0.0))
    working = step.change[0] <= frame < step.change[1]
    tx, ty = ox + (wiggle[0] if working else 0.0), oy + (wiggle[1] if working else 0.0)
    length = step.end_frame - step.start_frame
    u = (frame - step.start_frame) / length
    reach = _smooth(u / 0.25) if u < 0.5 else 1.0 - _smooth((u - 0.75) / 0.25)
    return rest[0] + (tx - rest[0]) * reach, rest[1] + (ty - rest[1]) * reach


def draw_hand(canvas: np.ndarray, video: VideoPlan, frame: int, margin: int) -> None:
    hx, hy = hand_position(video, frame)
    hx, hy = hx + margin, hy + margin
    radius = 0.035 * (video.width + video.height)
    # The arm: a thick segment from the hand down and right, off the bottom edge.
    ax, ay = hx + 0.25 * video.width, hy + 0.6 * video.height
    cx, cy = (hx + ax) / 2, (hy + ay) / 2
    region, xs, ys = _region(canvas, cx, cy, abs(ax - hx) / 2 + radius, abs(ay - hy) / 2 + radius)
    if region is not None:
        px, py = xs - (hx - cx), ys - (hy - cy)  # relative to the hand
        dx, dy = ax - hx, ay - hy
        along = np.clip((px * dx + py * dy) / (dx * dx + dy * dy), 0, 1)
        dist2 = (px - along * dx) ** 2 + (py - along * dy) ** 2
        _paint(region, dist2 <= (0.6 * radius) ** 2, SLEEVE)
    region, xs, ys = _region(canvas, hx, hy, radius + 1, radius + 1)
    if region is not None:
        _paint(region, xs**2 + ys**2 <= radius**2, SKIN)


def render_frames(video: VideoPlan) -> Iterator[np.ndarray]:
    """Yield the video's frames in order, each (H, W, 3) uint8 RGB."""
    margin = jitter_margin(video)
    offsets = camera_offsets(video)
    base = base_layer(video)
    events = [(first, last, i) for i, obj in enumerate(video.objects) for first, last, *_ in obj.events]
    boundaries = sorted({b for first, last, _ in events for b in (first, last)})
    static, static_epoch = None, None
    for frame in range(video.n_frames):
        changing = {i for first, last, i in events if first <= frame < last}
        epoch = (int(np.searchsorted(boundaries, frame, side="right")), frozenset(changing))
        if epoch != static_epoch:
            static = base.copy()
            for i, obj in enumerate(video.objects):
                if i not in changing:
                    draw_object(static, obj, obj.state_at(frame), margin)
            static_epoch = epoch
        canvas = static.copy()
        for i in sorted(changing):
            draw_object(canvas, video.objects[i], video.objects[i].state_at(frame), margin)
        draw_hand(canvas, video, frame, margin)
        dx, dy = offsets[frame]
        yield canvas[margin + dy : margin + dy + video.height, margin + dx : margin + dx + video.width]


def ffmpeg_command(video: VideoPlan, out: str | Path, ffmpeg: str = "ffmpeg") -> list[str]:
    """Raw RGB frames on stdin -> H.264 yuv420p MP4; one thread and bit-exact flags so bytes repeat."""
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{video.width}x{video.height}",
        "-r",
        str(FPS),
        "-i",
        "pipe:0",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-g",
        str(FPS),  # a keyframe every second keeps random access cheap for clip readers
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-map_metadata",
        "-1",
        "-f",
        "mp4",
        str(out),
    ]


def encode_video(video: VideoPlan, path: str | Path, ffmpeg: str = "ffmpeg") -> Path:
    """Render `video` and write it to `path` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        process = subprocess.Popen(
            ffmpeg_command(video, tmp, ffmpeg), stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            for frame in render_frames(video):
                process.stdin.write(np.ascontiguousarray(frame).tobytes())
            process.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg died; its stderr below says why
        except BaseException:
            process.kill()
            process.wait()
            raise
        error = process.stderr.read().decode("utf-8", "replace")
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {path}: {error.strip()}")
    return path
