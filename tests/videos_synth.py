"""Synthetic test videos for the video-stage tests, made with ffmpeg's lavfi sources (no downloads)."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Quiet, non-interactive, overwriting: the start of every ffmpeg call here.
FFMPEG = ["ffmpeg", "-nostdin", "-v", "error", "-y"]


def make_video(
    path: Path,
    *,
    seconds: float = 3.0,
    size: str = "320x240",
    fps: int = 30,
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
    gop: int | None = None,
    audio: bool = False,
    vf: str | None = None,
    extra: list[str] | None = None,
) -> Path:
    """A testsrc2 video (moving pattern + frame counter), so every frame differs from its neighbours."""
    args = [
        *FFMPEG,
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s={size}:r={fps}:d={seconds}",
    ]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=d={seconds}", "-c:a", "aac", "-shortest"]
    if vf:
        args += ["-vf", vf]
    args += ["-c:v", codec, "-pix_fmt", pix_fmt]
    if gop:
        args += ["-g", str(gop)]
    args += [*(extra or []), str(path)]
    subprocess.run(args, check=True)
    return path


def make_vfr(path: Path) -> Path:
    """4 s: 1 s at 30 fps, 2 s at 15 fps, 1 s at 30 fps (90 frames)."""
    # Integer PTS in the source's 1/30 s time base (float expressions truncate 49.999 to 49).
    vf = "setpts='if(lt(N,30),N,if(lt(N,60),30+2*(N-30),90+(N-60)))'"
    return make_video(path, seconds=3, vf=vf, extra=["-fps_mode", "passthrough"])


def make_odd_10bit(path: Path, seconds: float = 2.0) -> Path:
    """321x241, 10-bit 4:4:4 (4:2:0 cannot have odd sizes): odd width and 10-bit in one file."""
    return make_video(
        path, seconds=seconds, size="322x242", pix_fmt="yuv444p10le", vf="format=yuv444p10le,crop=321:241:0:0"
    )


def make_rotated(path: Path, tmp: Path) -> Path:
    """A 320x240 coded video with a 90-degree display rotation: portrait 240x320 when displayed."""
    plain = make_video(tmp / "plain_for_rotation.mp4", seconds=2)
    subprocess.run(
        [
            *FFMPEG,
            "-i",
            str(plain),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(path),
        ],
        check=True,
    )
    return path


def make_bad_files(folder: Path) -> dict[str, Path]:
    """One file per bad-input kind; the key is a word the error reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    good = make_video(folder / "source.mp4", seconds=2)
    faststart = make_video(folder / "faststart.mp4", seconds=4, extra=["-movflags", "+faststart"])
    files = {
        "not found": folder / "missing.mp4",
        "empty": folder / "empty.mp4",
        "truncated": folder / "truncated.mp4",
        "truncated ": folder / "truncated_faststart.mp4",  # index present, data cut
        "not a video": folder / "notes.mp4",
        "audio only": folder / "audio.m4a",
        "zero duration": folder / "zero.mp4",
    }
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    files["truncated "].write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 3])
    files["not a video"].write_text("hello, I am a text file\n")
    subprocess.run(
        [
            *FFMPEG,
            "-f",
            "lavfi",
            "-i",
            "sine=d=1",
            str(files["audio only"]),
        ],
        check=True,
    )
    make_video(files["zero duration"], seconds=1, extra=["-frames:v", "0"])
    return files


def write_sheet(path: Path, rows: dict[str, Path]) -> Path:
    path.write_text(
        "video_uid\tpath\n" + "".join(f"{uid}\t{p}\n" for uid, p in rows.items()), encoding="utf-8"
    )
    return path
