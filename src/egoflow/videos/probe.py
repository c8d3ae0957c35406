"""Probe a video file with ffprobe: streams, duration, frame count, fps, size, rotation, keyframes.

Every way a file can be unusable (missing, empty, truncated, not a video, audio only, zero duration) raises
`InputError` naming the file and the reason, so a bad video never reaches ffmpeg or a training job.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from egoflow.atomic import atomic_write
from egoflow.errors import InputError

# Leading bytes of containers we know; a file that starts like one but cannot be parsed is truncated/corrupt.
_SIGNATURES = {
    b"ftyp": "MP4/MOV",  # at offset 4
    b"\x1a\x45\xdf\xa3": "Matroska/WebM",
    b"RIFF": "AVI",
    b"\x00\x00\x01\xba": "MPEG-PS",
}


@dataclass
class VideoProbe:
    path: str
    duration_sec: float  # last frame's end minus first frame's start (video stream)
    num_frames: int  # video packets actually readable (not the header's claim)
    fps: float  # num_frames / duration_sec: the real average rate
    nominal_fps: float  # the stream's r_frame_rate
    vfr: bool  # frame durations differ by more than 1 %
    width: int  # displayed size, after rotation and sample aspect ratio
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # degrees, as stored in the display matrix / rotate tag
    codec: str
    pix_fmt: str
    bit_depth: int
    has_audio: bool
    audio_codec: str
    num_streams: int
    container: str
    max_keyframe_interval: int  # in frames; large means slow random access
    has_b_frames: bool = False
    start_sec: float = 0.0  # first video frame's time after the container's start (e.g. audio starts first)
    keyframe_times: list[float] = field(default_factory=list, repr=False)  # seconds from the first frame
    frame_times: list[float] = field(default_factory=list, repr=False)  # every frame; not saved

    def to_dict(self) -> dict:
        record = asdict(self)
        del record["frame_times"]
        return record

    @classmethod
    def from_dict(cls, record: dict) -> VideoProbe:
        return cls(**record)


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)


def _first_error(stderr: str) -> str:
    """The last message of ffmpeg's stderr, without its '[demuxer @ 0x...]' and 'file:<path>:' prefixes."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    message = re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", lines[-1])
    return re.sub(r"^file:.*?: (?=[A-Z])", "", message)


def _container_guess(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[4:8] == b"ftyp":
        return _SIGNATURES[b"ftyp"]
    for magic, name in _SIGNATURES.items():
        if head.startswith(magic):
            return name
    if head[:1] == b"\x47":  # MPEG-TS sync byte
        return "MPEG-TS"
    return None


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(round(float(side["rotation"])))
    return int(round(float(stream.get("tags", {}).get("rotate", 0) or 0)))


def probe_video(path: str | Path, ffprobe: str = "ffprobe") -> VideoProbe:
    """Probe `path`; raise InputError(path, reason) when it is not a usable video."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    header = _run(
        [ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", "file:" + str(path)]
    )
    info = json.loads(header.stdout or "{}") if header.returncode == 0 else {}
    if header.returncode != 0 or "format" not in info:
        guess = _container_guess(path)
        message = _first_error(header.stderr)
        if guess:
            raise InputError(path, f"truncated or corrupt {guess} file (ffprobe: {message})")
        raise InputError(path, f"not a video file (ffprobe: {message})")
    streams = info.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video:
        if audio:
            raise InputError(path, "audio only: no video stream")
        if float(info["format"].get("duration", 0) or 0) == 0:
            raise InputError(path, "zero duration: the file holds no streams")
        raise InputError(path, "no video stream")
    stream = video[0]
    times, durations, keys, scan_errors = _scan_packets(path, stream["index"])
    if not times:
        raise InputError(path, "zero duration: the video stream holds no frames")
    claimed = int(stream.get("nb_frames") or 0)
    if scan_errors:
        detail = _first_error(scan_errors)
        raise InputError(path, f"truncated: {len(times)} of {claimed or '?'} frames readable ({detail})")
    if claimed and len(times) < claimed:
        raise InputError(path, f"truncated: {len(times)} of {claimed} frames readable")
    order = sorted(range(len(times)), key=times.__getitem__)
    times = [times[i] for i in order]
    durations = [durations[i] for i in order]
    last = durations[-1] if durations[-1] > 0 else (times[-1] - times[0]) / max(len(times) - 1, 1)
    duration = times[-1] - times[0] + last
    # Time 0 is the first video frame (as OpenCV/decord count frames); an audio track may start earlier.
    origin = times[0]
    container_start = float(info["format"].get("start_time", times[0]) or times[0])
    if duration <= 0:
        raise InputError(path, "zero duration: every frame has the same timestamp")
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    vfr = bool(steps) and (max(steps) - min(steps)) > 0.01 * (sum(steps) / len(steps))
    keys = [keys[i] for i in order]
    key_positions = [i for i, key in enumerate(keys) if key]
    gaps = [b - a for a, b in zip(key_positions, [*key_positions[1:], len(times)], strict=True)]
    rotation = _rotation(stream)
    coded_w, coded_h = int(stream["width"]), int(stream["height"])
    sar = Fraction(stream.get("sample_aspect_ratio", "1:1").replace(":", "/") or "1")
    display_w = round(coded_w * (sar if sar > 0 else 1))
    width, height = (coded_h, display_w) if rotation % 180 else (display_w, coded_h)
    pix_fmt = stream.get("pix_fmt", "")
    return VideoProbe(
        path=str(path),
        duration_sec=duration,
        num_frames=len(times),
        fps=len(times) / duration,
        nominal_fps=_rate(stream.get("r_frame_rate", "0/0")),
        vfr=vfr,
        width=width,
        height=height,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation=rotation,
        codec=stream.get("codec_name", ""),
        pix_fmt=pix_fmt,
        bit_depth=int(stream.get("bits_per_raw_sample") or (10 if "10" in pix_fmt else 8)),
        has_audio=bool(audio),
        audio_codec=audio[0].get("codec_name", "") if audio else "",
        num_streams=len(streams),
        container=info["format"].get("format_name", ""),
        max_keyframe_interval=max(gaps) if gaps and key_positions[0] == 0 else len(times),
        has_b_frames=bool(int(stream.get("has_b_frames", 0) or 0)),
        start_sec=times[0] - min(container_start, times[0]),
        keyframe_times=[round(times[i] - origin, 6) for i in key_positions],
        frame_times=[t - origin for t in times],
    )


def _rate(text: str) -> float:
    num, _, den = text.partition("/")
    return float(num) / float(den) if den and float(den) else 0.0


def _is_cover_art(stream: dict) -> bool:
    return bool(stream.get("disposition", {}).get("attached_pic"))


def _scan_packets(path: Path, index: int) -> tuple[list[float], list[float], list[bool], str]:
    """Read (not decode) every packet of one stream: presentation times, durations, keyframe flags.

    PyAV's demuxer, in-process: ~10x faster than ffprobe's per-packet text output on long videos.
    """
    import av

    times, durations, keys, errors = [], [], [], ""
    try:
        with av.open(str(path)) as container:
            stream = container.streams[index]
            base = float(stream.time_base)
            for packet in container.demux(stream):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None or packet.size == 0:  # the demuxer's final flush packet
                    continue
                times.append(stamp * base)
                durations.append((packet.duration or 0) * base)
                keys.append(bool(packet.is_keyframe))
    except av.FFmpegError as error:
        errors = f"truncated or corrupt data: {error}"
    if not math.isfinite(sum(times)):
        errors += " non-finite timestamps"
    return times, durations, keys, errors


def scan_frame_times(path: str | Path) -> list[float]:
    """Sorted presentation times of the first video stream's frames, seconds from its first frame."""
    import av

    with av.open(str(path)) as container:
        index = container.streams.video[0].index
    times = sorted(_scan_packets(Path(path), index)[0])
    return [t - times[0] for t in times]


def write_probe(src: str | Path, video_uid: str, out: str | Path, *, on_error: str = "fail") -> dict:
    """Probe one video into a JSON record; with on_error="skip" a bad file gives {"ok": false, "reason": ...}.

    The record names the video by its absolute path, whatever the working directory the job ran in.
    """
    src = Path(src).absolute()
    try:
        probe = probe_video(src)
        record = {"video_uid": video_uid, "path": str(src), "ok": True, "probe": probe.to_dict()}
    except InputError as error:
        if on_error != "skip":
            raise
        print(f"[{video_uid}] rejected: {error}", file=sys.stderr)
        record = {
            "video_uid": video_uid,
            "path": str(src),
            "ok": False,
            "stage": "probe",
            "reason": error.reason,
        }
    with atomic_write(out) as handle:
        json.dump(record, handle, indent=1)
    return record
