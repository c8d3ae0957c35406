"""Resize and cut a video into fixed-length chunks in ONE ffmpeg pass (argument lists, never a shell string).

EgoVLP's contract: height 256 with the aspect kept and an even width (`scale=trunc(oh*a/2)*2:256`), chunks of
600 s named `<k>.mp4` with k = floor(t / 600). Unlike EgoVLP (resize, then one re-encode per chunk with
`-ss/-to`), the segment muxer cuts at keyframes forced exactly on chunk boundaries, so the cut is frame-accurate,
there is no empty trailing chunk, and the video is decoded and encoded once. A short keyframe interval makes
random clip reads fast (decord, one core, 256p, random 4-frame clips: GOP 250 ~15 clips/s, GOP 16 ~40 clips/s).
"""

from __future__ import annotations

import bisect
import json
import math
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from egoflow.atomic import atomic_path
from egoflow.errors import InputError
from egoflow.videos.probe import VideoProbe, probe_video, scan_frame_times

CHUNK_SUFFIX = ".mp4"
# Audio codecs an .mp4 chunk can carry as they are; others are re-encoded to AAC.
MP4_AUDIO = {"aac", "mp3", "alac", "opus", "ac3", "eac3"}


@dataclass
class ChunkConfig:
    size: int = 256  # pixels of the fixed side
    resize: str = "height"  # "height": height = size (EgoVLP); "short_side": the shorter side = size
    chunk_sec: float = 600.0  # chunk length; k = floor(t / chunk_sec)
    keyframe_interval: int = 16  # frames between keyframes (random-access cost of a clip read)
    crf: int = 23  # libx264 quality (lower = better, bigger)
    preset: str = "veryfast"  # libx264 speed/size trade-off
    keep_audio: bool = False  # training reads frames only
    reencode: bool = False  # re-encode even when the file is already at the target
    ffmpeg: str = "ffmpeg"

    def __post_init__(self):
        assert self.resize in ("height", "short_side"), f"resize must be height|short_side, got {self.resize}"
        assert self.size >= 2 and self.chunk_sec > 0 and self.keyframe_interval >= 1


def target_size(probe: VideoProbe, cfg: ChunkConfig) -> tuple[int, int]:
    """(width, height) of the chunks: the fixed side = cfg.size, the other keeps the aspect, rounded down to even."""
    w, h = probe.width, probe.height
    if cfg.resize == "short_side" and h > w:
        return cfg.size, max(2, math.floor(cfg.size * h / w / 2) * 2)
    return max(2, math.floor(cfg.size * w / h / 2) * 2), cfg.size


def already_at_target(probe: VideoProbe, cfg: ChunkConfig) -> bool:
    """True when stream-copying gives the same contract as re-encoding: size, codec, GOP and exact cut points."""
    if cfg.reencode or probe.rotation % 360 or probe.vfr:
        return False
    if (probe.width, probe.height) != target_size(probe, cfg) or probe.codec != "h264":
        return False
    if probe.pix_fmt not in ("yuv420p", "yuvj420p") or probe.max_keyframe_interval > cfg.keyframe_interval:
        return False
    if probe.has_b_frames:  # see ffmpeg_args: B-frames shift the cuts
        return False
    # A copy can only cut at keyframes: each boundary's first frame must be one.
    frame = 1.0 / probe.fps
    keys = probe.keyframe_times
    for k in range(1, math.ceil(probe.duration_sec / cfg.chunk_sec)):
        boundary = k * cfg.chunk_sec
        if not any(boundary - 1e-6 <= t < boundary + frame - 1e-6 for t in keys):
            return False
    return True


def ffmpeg_args(
    src: str | Path, out_dir: str | Path, probe: VideoProbe, cfg: ChunkConfig, threads: int = 1
) -> list[str]:
    """The ffmpeg argument list that writes `<out_dir>/<k>.mp4`, k = 0, 1, ..."""
    width, height = target_size(probe, cfg)
    copy = already_at_target(probe, cfg)
    args = [
        cfg.ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-progress",
        "pipe:1",
        "-nostats",
    ]
    args += ["-threads", str(threads), "-i", "file:" + str(src), "-map", "0:v:0"]
    if copy:
        args += ["-c:v", "copy"]
    else:
        args += [
            "-vf", f"scale={width}:{height}:flags=bicubic,setsar=1",
            "-c:v", "libx264", "-preset", cfg.preset, "-crf", str(cfg.crf), "-pix_fmt", "yuv420p",
            # No B-frames: with them the mp4 muxer shifts timestamps by the reorder delay, which moves the
            # segment cuts onto the keyframe before a boundary; decoding a random frame is also cheaper.
            "-g", str(cfg.keyframe_interval), "-bf", "0",
            # A keyframe on the first frame at or after every boundary makes the cut frame-accurate.
            "-force_key_frames", f"expr:gte(t,n_forced*{cfg.chunk_sec})",
            "-threads", str(threads),
        ]  # fmt: skip
    if cfg.keep_audio and probe.has_audio:
        args += ["-map", "0:a:0", "-c:a", "copy" if probe.audio_codec in MP4_AUDIO else "aac"]
        # Audio priming samples have negative times; shifting them to 0 would move every video cut.
        args += ["-avoid_negative_ts", "disabled"]
    else:
        args += ["-an"]
    # passthrough: every source frame keeps its timestamp (no duplicated/dropped frames, VFR preserved).
    args += ["-sn", "-dn", "-map_metadata", "-1", "-fps_mode", "passthrough"]
    args += [
        "-f", "segment", "-segment_time", str(cfg.chunk_sec),
        # Tolerance for timestamp rounding, well under one frame so an earlier keyframe never starts a chunk.
        "-segment_time_delta", f"{0.25 / max(probe.fps, 1.0):.6f}",
        "-reset_timestamps", "1", "-segment_format", "mp4",
        "-segment_format_options", "movflags=+faststart",
        # The segment muxer expands %d; escape any '%' already in the folder name.
        str(Path(out_dir)).replace("%", "%%") + "/%d" + CHUNK_SUFFIX,
    ]  # fmt: skip
    return args


def run_ffmpeg(args: list[str], duration_sec: float, label: str) -> float:
    """Run ffmpeg with a progress bar on stderr; return the wall time. Raise RuntimeError with its stderr."""
    start = time.monotonic()
    print(f"[{label}] {shlex.join(args)}", file=sys.stderr, flush=True)
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as proc:
        bar = tqdm(total=round(duration_sec, 1), unit="s", desc=label, file=sys.stderr, mininterval=5)
        for line in proc.stdout:
            if line.startswith("out_time_us=") and line.strip()[12:].lstrip("-").isdigit():
                bar.n = min(max(round(int(line.strip()[12:]) / 1e6, 1), 0), bar.total)
                bar.refresh()
        bar.close()
        stderr = proc.stderr.read()
        code = proc.wait()
    if code != 0:
        raise RuntimeError(f"ffmpeg exited with {code}: {stderr.strip()[-2000:]}")
    return time.monotonic() - start


@dataclass
class Chunk:
    chunk_id: int
    file: str  # name inside the video's chunk folder
    start_sec: float  # time of its first frame in the source video
    probe: VideoProbe


def resize_chunk(
    src: str | Path, probe: VideoProbe, out_dir: str | Path, cfg: ChunkConfig, threads: int = 1
) -> list[Chunk]:
    """Write the chunks of `src` into `out_dir` (which must exist and be empty); probe and check them.

    Raises InputError when the chunks do not hold every source frame (a decode error mid-file).
    """
    out_dir = Path(out_dir)
    args = ffmpeg_args(src, out_dir, probe, cfg, threads)
    try:
        seconds = run_ffmpeg(args, probe.duration_sec, label=Path(src).name)
    except RuntimeError as error:
        raise InputError(src, f"ffmpeg failed: {error}") from None
    files = sorted(out_dir.glob("*" + CHUNK_SUFFIX), key=lambda p: int(p.stem))
    ffprobe = str(Path(cfg.ffmpeg).with_name("ffprobe")) if "/" in cfg.ffmpeg else "ffprobe"
    # Chunk k must hold exactly the source frames with floor(t / chunk_sec) == k (same tolerance as the muxer).
    tolerance = 0.25 / max(probe.fps, 1.0)
    times = probe.frame_times or [i / probe.fps for i in range(probe.num_frames)]
    chunks = []
    for expected, file in enumerate(files):
        if int(file.stem) != expected:
            raise InputError(src, f"chunk numbering has a gap at {file.name}")
        chunk_probe = probe_video(file, ffprobe=ffprobe)
        first = bisect.bisect_left(times, expected * cfg.chunk_sec - tolerance)
        wanted = bisect.bisect_left(times, (expected + 1) * cfg.chunk_sec - tolerance) - first
        if chunk_probe.num_frames != wanted:
            raise InputError(
                src,
                f"chunk {expected} holds {chunk_probe.num_frames} frames, expected {wanted} (corrupt video data?)",
            )
        chunks.append(Chunk(expected, file.name, times[first], chunk_probe))
    # Durations from the source timeline, so that they sum to the source duration exactly (VFR included).
    ends = [c.start_sec for c in chunks[1:]] + [probe.duration_sec]
    for chunk, end in zip(chunks, ends, strict=True):
        chunk.probe.duration_sec = end - chunk.start_sec
        chunk.probe.fps = chunk.probe.num_frames / chunk.probe.duration_sec
    total = sum(c.probe.num_frames for c in chunks)
    if total != probe.num_frames:
        raise InputError(src, f"decoded {total} of {probe.num_frames} frames (corrupt video data?)")
    mode = "stream copy" if already_at_target(probe, cfg) else "re-encode"
    print(
        f"[{Path(src).name}] {mode}: {probe.duration_sec:.1f} s, {total} frames -> {len(chunks)} chunk(s) "
        f"in {seconds:.1f} s ({probe.duration_sec / max(seconds, 1e-9):.1f}x real time)",
        file=sys.stderr,
        flush=True,
    )
    return chunks


def write_chunks(
    src: str | Path,
    probe_json: str | Path,
    out_dir: str | Path,
    cfg: ChunkConfig,
    *,
    threads: int = 1,
    on_error: str = "fail",
) -> dict:
    """The resize_chunk job: `<out_dir>/<k>.mp4` + `chunks.json`, all appearing at once (atomic folder rename).

    A killed ffmpeg leaves only a hidden temporary folder, never a chunk that a rerun would trust.
    A video rejected by the probe (on_error="skip") gets an empty folder whose chunks.json says why.
    """
    with open(probe_json, encoding="utf-8") as handle:
        probed = json.load(handle)
    record = {"video_uid": probed["video_uid"], "path": str(Path(src).absolute()), "ok": False, "chunks": []}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        if not probed["ok"]:
            record.update(stage="probe", reason=probed["reason"])
        else:
            try:
                # The chunk checks need every frame time, which the JSON does not keep (a fast packet scan).
                probe = VideoProbe.from_dict(probed["probe"])
                probe.frame_times = scan_frame_times(src)
                if len(probe.frame_times) != probe.num_frames:
                    raise InputError(
                        src, f"changed since probed: {len(probe.frame_times)} frames, was {probe.num_frames}"
                    )
                chunks = resize_chunk(src, probe, tmp, cfg, threads)
                record.update(ok=True, mode="copy" if already_at_target(probe, cfg) else "reencode")
                record["chunks"] = [
                    {
                        "chunk_id": c.chunk_id,
                        "file": c.file,
                        "start_sec": c.start_sec,
                        # the probe ran on the temporary folder; record the file's final name
                        "probe": {**c.probe.to_dict(), "path": c.file},
                    }
                    for c in chunks
                ]
            except InputError as error:
                if on_error != "skip":
                    raise
                print(f"[{probed['video_uid']}] rejected: {error}", file=sys.stderr)
                for partial in tmp.iterdir():
                    partial.unlink()
                record.update(stage="resize_chunk", reason=error.reason)
        with open(tmp / "chunks.json", "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
    return record
