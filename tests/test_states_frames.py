"""The 1 fps frames of the states stage are upstream's: ffmpeg's `fps=1` filter (MultiTaskObjectStates
method/dataset.py `extract_frames`) keeps, for second k, the last frame shown before k + 0.5 s, the middle of the
second that the k-th annotation line labels, not the frame at k s."""

from __future__ import annotations

import subprocess

import numpy as np

from egoflow.states.data import FrameConfig, second_frames
from egoflow.states.inference import decode_seconds


def test_second_frames_is_the_last_frame_before_the_middle_of_each_second():
    times = np.arange(138) / 30  # a 4.6 s video at 30 fps
    # middles 0.5, 1.5, ...: frame 15 is stamped 0.5 itself and belongs to the next second (ffmpeg rounds
    # halves up), so second 0 keeps frame 14 (0.467 s); 5 seconds (ceil 4.6), the last middle 4.5 -> 134
    assert second_frames(times, 4.6).tolist() == [14, 44, 74, 104, 134]
    # float32 stamps: 0.5 stored as 0.49999997 still belongs to the next second
    assert second_frames(times.astype(np.float32), 4.6).tolist() == [14, 44, 74, 104, 134]
    # 24 fps: 0.5 s is frame 12 exactly -> 11; 2 fps sampling: middles 0.25, 0.75, ... -> frames 7, 22, ...
    assert second_frames(np.arange(48) / 24, 2.0).tolist() == [11, 35]
    assert second_frames(times, 1.0, fps=2.0).tolist() == [7, 22]
    # a second whose middle lies past the last frame repeats it (a 4.2 s video: ceil = 5 seconds, last 125)
    assert second_frames(np.arange(126) / 30, 4.2).tolist() == [14, 44, 74, 104, 125]


def test_decoded_seconds_equal_ffmpegs_fps_filter(tmp_path):
    # A lossless video whose frame n is uniformly grey level 2n: decoded values name the frame exactly.
    path, rate, n = tmp_path / "ramp.mkv", 25, 115  # 4.6 s at 25 fps
    ramp = np.repeat(2 * np.arange(n, dtype=np.uint8), 16 * 16 * 3)
    encode = ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "16x16", "-r",
              str(rate), "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)]  # fmt: skip
    subprocess.run(encode, input=ramp.tobytes(), check=True)
    upstream = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(path), "-vf", "fps=1", "-f", "rawvideo", "-pix_fmt",
         "rgb24", "-"], capture_output=True, check=True,
    ).stdout  # fmt: skip
    upstream_frames = np.frombuffer(upstream, np.uint8).reshape(-1, 16, 16, 3)[:, 0, 0, 0] // 2
    ours = decode_seconds(path, FrameConfig(width=16, height=16))[:, 0, 0, 0] // 2
    # 25 fps: middles 0.5, 1.5, ... fall between frames 12 (0.48 s) and 13 (0.52 s), so frames 12, 37, ...
    assert upstream_frames.tolist() == [12, 37, 62, 87, 112]
    assert ours.tolist() == upstream_frames.tolist()
