"""Frame features from a released checkpoint (framewise.released): a tiny file in EgoVLP's upstream layout
(DDP `module.` names under "state_dict", its DistilBERT text tower beside the video model) becomes a window
encoder, and every frame's row is the video embedding of its centred window, computed here by hand."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from egoflow.errors import InputError
from egoflow.framewise.features import released_encoder
from egoflow.framewise.stage import frame_features, system_of
from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig
from egoflow.videos.transforms import IMAGENET_MEAN, IMAGENET_STD

# EgoVLP's video side at toy sizes: 32 px frames of 16 px patches (4 per frame), one block of width 32,
# vid_proj to 16, the parameter-free average aggregator.
MODEL = {
    "video": {"img_size": 32, "patch_size": 16, "dim": 32, "depth": 1, "heads": 2, "num_frames": 4},
    "projection": "egovlp",
    "projection_dim": 16,
    "aggregator": {"kind": "average"},
}


def egovlp_release(path) -> CounterfactualModel:
    """A random-weight model saved as upstream's trainer saves EgoVLP; returns the model."""
    torch.manual_seed(0)
    model = CounterfactualModel(CounterfactualModelConfig.from_dict({"text_dim": None, **MODEL}))
    weights = {"module." + k: v for k, v in model.state_dict().items()}
    weights["module.text_model.embeddings.word_embeddings.weight"] = torch.zeros(10, 8)  # ignored by name
    weights["module.txt_proj.1.weight"] = torch.zeros(16, 8)
    torch.save({"arch": "FrozenInTime", "epoch": 3, "state_dict": weights, "monitor_best": 0}, path)
    return model.eval()


def test_system_names():
    assert [system_of(e) for e in ("carl", "pretrain-cf", "released-egovlp")] == [
        "carl",
        "counterfactual",
        "released",
    ]


def test_released_checkpoint_gives_centred_window_embeddings(tmp_path):
    model = egovlp_release(tmp_path / "egovlp_epoch3.pth")
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8) for n in (6, 3)]
    np.savez(
        tmp_path / "frames.npz",
        names=np.array(["v0", "v1"]),
        video_0=videos[0],
        label_0=np.array([0, 0, 1, 1, 2, 2]),
        video_1=videos[1],
        label_1=np.array([0, 1, 2]),
    )
    settings = {"checkpoint": str(tmp_path / "egovlp_epoch3.pth"), "source": "auto", "num_frames": 2}
    settings["model"] = MODEL
    n = frame_features(
        str(tmp_path / "frames.npz"),
        "released-egovlp",
        settings["checkpoint"],
        str(tmp_path / "out.h5"),
        size=32,
        window=5,
        batch=4,  # 6 windows: batches of 4 and 2
        device="cpu",
        released=settings,
    )
    assert n == 9
    with h5py.File(tmp_path / "out.h5") as h5:
        x, video, frame = h5["features"][:], h5["video"][:], h5["frame"][:]
        assert h5.attrs["encoder"] == "released-egovlp" and h5.attrs["dim"] == 16
    assert video.tolist() == [0] * 6 + [1] * 3 and frame.tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2]

    # By hand: a 5-frame window centred on frame i is i-2..i+2 (edges repeated); 2 evenly spaced frames of
    # it are its ends, clip(i-2) and clip(i+2). Pixels: /255, then ImageNet mean / std.
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    expected = []
    for frames in videos:
        pixels = (torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255 - mean) / std
        last = len(frames) - 1
        clips = torch.stack([pixels[[max(i - 2, 0), min(i + 2, last)]] for i in range(len(frames))])
        with torch.no_grad():
            expected.append(F.normalize(model.encode_video(clips)[0], dim=-1))
    np.testing.assert_allclose(x, torch.cat(expected).numpy(), atol=1e-5)
    assert not np.allclose(x[0], x[2])  # different windows, different rows


def test_a_file_that_does_not_fill_the_encoder_names_it(tmp_path):
    egovlp_release(tmp_path / "egovlp.pth")
    # CF's minimal projection has a frame_proj the EgoVLP file lacks: refused, not left at random init
    with pytest.raises(InputError, match=r"(?s)egovlp\.pth: does not fill.*frame_proj\.0\.weight"):
        released_encoder(tmp_path / "egovlp.pth", {"model": {**MODEL, "projection": "minimal"}}, "cpu")
    # other sizes: the loader names the key and both shapes
    with pytest.raises(InputError, match=r"egovlp\.pth: .*vid_proj\.0\.weight: shape \[16, 32\]"):
        released_encoder(tmp_path / "egovlp.pth", {"model": {**MODEL, "projection_dim": 8}}, "cpu")
