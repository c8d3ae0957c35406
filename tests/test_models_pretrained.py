"""Initialisation from real checkpoints: state dicts with exactly the upstream names and shapes, wrapped as the
released files are, load with zero missing and zero unexpected keys; what is skipped is named.

The name/shape lists below are written from the upstream model code (not from downloaded files):
- timm ViT (`jx_vit_base_p16_224-80ecf9dd.pth`): timm's VisionTransformer at the v0.1-vitjx release, as
  upstream loads it into SpaceTimeTransformer (HCIS-Lab/state-change-counterfactual-video-pretrain @ 02a3dac
  model/counterfactual.py).
- SpaceTimeTransformer: m-bain/frozen-in-time @ e1f13e1 model/video_transformer.py (same names in showlab/EgoVLP
  @ 928406c and CF @ 02a3dac); 16 temporal slots as the configs build it (configs/pt/*.json "num_frames": 16).
- Aggregator `VisionTransformer()`: model/vit.py of facebookresearch/HierVL @ 998a852 (embed_dim 256) and CF @
  02a3dac (embed_dim 768), with the parameters its forward never uses.
- DistilBERT (`text_model`): transformers 4.2.1 (HierVL environment.yml) DistilBertModel.
- Top level: EgoVLP/HierVL model/model.py FrozenInTime, CF model/counterfactual.py CF; the file wrapping from
  base/base_trainer.py `_save_checkpoint` ({"arch", "epoch", "state_dict", "optimizer", "monitor_best",
  "config": parse_config.ConfigParser}), state dict taken from the DDP-wrapped model ("module." prefixes).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import types

import pytest
import torch

from egoflow.checkpoint import ForeignObject, load_released_checkpoint
from egoflow.errors import InputError
from egoflow.models import (
    CounterfactualModel,
    CounterfactualModelConfig,
    VideoTransformer,
    VideoTransformerConfig,
    load_pretrained,
)

Shapes = dict[str, tuple[int, ...]]


def timm_vit(dim=768, depth=12, patch=16, img=224, classes=1000) -> Shapes:
    grid = (img // patch) ** 2
    names: Shapes = {
        "cls_token": (1, 1, dim),
        "pos_embed": (1, 1 + grid, dim),
        "patch_embed.proj.weight": (dim, 3, patch, patch),
        "patch_embed.proj.bias": (dim,),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        names |= {
            b + "norm1.weight": (dim,),
            b + "norm1.bias": (dim,),
            b + "attn.qkv.weight": (3 * dim, dim),
            b + "attn.qkv.bias": (3 * dim,),
            b + "attn.proj.weight": (dim, dim),
            b + "attn.proj.bias": (dim,),
            b + "norm2.weight": (dim,),
            b + "norm2.bias": (dim,),
            b + "mlp.fc1.weight": (4 * dim, dim),
            b + "mlp.fc1.bias": (4 * dim,),
            b + "mlp.fc2.weight": (dim, 4 * dim),
            b + "mlp.fc2.bias": (dim,),
        }
    return names | {
        "norm.weight": (dim,),
        "norm.bias": (dim,),
        "head.weight": (classes, dim),
        "head.bias": (classes,),
    }


def space_time_transformer(dim=768, depth=12, patch=16, img=224, frames=16) -> Shapes:
    names = {k: v for k, v in timm_vit(dim, depth, patch, img).items() if not k.startswith("head.")}
    names["temporal_embed"] = (1, frames, dim)
    for i in range(depth):
        b = f"blocks.{i}."
        names |= {
            b + "timeattn.qkv.weight": (3 * dim, dim),
            b + "timeattn.qkv.bias": (3 * dim,),
            b + "timeattn.proj.weight": (dim, dim),
            b + "timeattn.proj.bias": (dim,),
            b + "norm3.weight": (dim,),
            b + "norm3.bias": (dim,),
        }
    return names  # head, pre_logits and fc are nn.Identity upstream: no parameters


def upstream_aggregator(dim: int, depth=6) -> tuple[Shapes, set[str]]:
    """(names and shapes, the names upstream's forward never uses)."""
    used: Shapes = {
        "cls_token": (1, 1, dim),
        "pos_embed": (1, 16, dim),
        "norm.weight": (dim,),
        "norm.bias": (dim,),
    }
    unused: Shapes = {
        "patch_embed.proj.weight": (dim, 3, 16, 16),
        "patch_embed.proj.bias": (dim,),
        "time_embed": (1, 8, dim),
        "head.weight": (1000, dim),
        "head.bias": (1000,),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        used |= {
            b + "norm1.weight": (dim,),
            b + "norm1.bias": (dim,),
            b + "attn.qkv.weight": (3 * dim, dim),  # qkv_bias=False
            b + "attn.proj.weight": (dim, dim),
            b + "attn.proj.bias": (dim,),
            b + "norm2.weight": (dim,),
            b + "norm2.bias": (dim,),
            b + "mlp.fc1.weight": (4 * dim, dim),
            b + "mlp.fc1.bias": (4 * dim,),
            b + "mlp.fc2.weight": (dim, 4 * dim),
            b + "mlp.fc2.bias": (dim,),
        }
        unused |= {
            b + "temporal_norm1.weight": (dim,),
            b + "temporal_norm1.bias": (dim,),
            b + "temporal_attn.qkv.weight": (3 * dim, dim),
            b + "temporal_attn.proj.weight": (dim, dim),
            b + "temporal_attn.proj.bias": (dim,),
            b + "temporal_fc.weight": (dim, dim),
            b + "temporal_fc.bias": (dim,),
        }
    names = {"aggregation." + k: v for k, v in (used | unused).items()}
    return names, {"aggregation." + k for k in unused}


def distilbert(dim=768, layers=6, vocab=30522, positions=512) -> Shapes:
    names: Shapes = {
        "embeddings.word_embeddings.weight": (vocab, dim),
        "embeddings.position_embeddings.weight": (positions, dim),
        "embeddings.LayerNorm.weight": (dim,),
        "embeddings.LayerNorm.bias": (dim,),
    }
    for i in range(layers):
        b = f"transformer.layer.{i}."
        for lin in ("q_lin", "k_lin", "v_lin", "out_lin"):
            names |= {b + f"attention.{lin}.weight": (dim, dim), b + f"attention.{lin}.bias": (dim,)}
        names |= {
            b + "sa_layer_norm.weight": (dim,),
            b + "sa_layer_norm.bias": (dim,),
            b + "ffn.lin1.weight": (4 * dim, dim),
            b + "ffn.lin1.bias": (4 * dim,),
            b + "ffn.lin2.weight": (dim, 4 * dim),
            b + "ffn.lin2.bias": (dim,),
            b + "output_layer_norm.weight": (dim,),
            b + "output_layer_norm.bias": (dim,),
        }
    return {"text_model." + k: v for k, v in names.items()}


def prefixed(prefix: str, names: Shapes) -> Shapes:
    return {prefix + k: v for k, v in names.items()}


def egovlp_names() -> Shapes:
    return (
        prefixed("video_model.", space_time_transformer())
        | {"vid_proj.0.weight": (256, 768), "vid_proj.0.bias": (256,)}
        | distilbert()
        | {"txt_proj.1.weight": (256, 768), "txt_proj.1.bias": (256,)}  # Sequential(ReLU, Linear)
    )


def constant_tensors(names: Shapes, dense: bool) -> dict[str, torch.Tensor]:
    """Tensor i holds the value i + 1 everywhere, so a test can tell where each one landed.

    dense=False stores one number per tensor (an expanded view: torch.save keeps views), so that the 66M
    DistilBERT and 114M video parameters do not have to be written out for every layout.
    """
    if dense:
        return {k: torch.full(shape, float(i + 1)) for i, (k, shape) in enumerate(names.items())}
    return {k: torch.tensor(float(i + 1)).expand(shape) for i, (k, shape) in enumerate(names.items())}


@pytest.fixture
def parse_config(monkeypatch):
    """A module `parse_config` with upstream's ConfigParser class name, present only while saving."""
    module = types.ModuleType("parse_config")

    class ConfigParser:
        def __init__(self):
            self.args = argparse.Namespace(config="configs/pt/egoaggregation.json", resume=None, device="0")
            self.cfg_fname = pathlib.Path("configs/pt/egoaggregation.json")
            self._config = {"name": "EgoClip_4f", "arch": {"type": "CF"}}

        def __setstate__(self, state):  # never runs on load: the class is replaced by a placeholder
            module.ran = True
            self.__dict__.update(state)

    ConfigParser.__module__, ConfigParser.__qualname__ = "parse_config", "ConfigParser"
    module.ConfigParser, module.ran = ConfigParser, False
    monkeypatch.setitem(sys.modules, "parse_config", module)
    return module


def released(path, weights: dict[str, torch.Tensor], parse_config, arch: str) -> None:
    """Write `weights` as upstream's trainer does: DDP names, optimizer state and the pickled ConfigParser."""
    state = {
        "arch": arch,
        "epoch": 7,
        "state_dict": {"module." + k: v for k, v in weights.items()},
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-5, "weight_decay": 0.0, "params": [0, 1]}]},
        "monitor_best": 0,
        "config": parse_config.ConfigParser(),
    }
    torch.save(state, path)


def assert_landed(model: torch.nn.Module, weights: dict[str, torch.Tensor], names: dict[str, str]) -> None:
    """Every model key in `names` (model key -> file key) holds the file's constant."""
    params = model.state_dict()
    for model_key, file_key in names.items():
        value = weights[file_key].flatten()[0].item()
        got = params[model_key]
        assert got.min().item() == got.max().item() == value, model_key


def meta_model(config) -> CounterfactualModel:
    with torch.device("meta"):
        model = CounterfactualModel(config)
    return model.to_empty(device="cpu")  # uninitialised memory: every tensor the test checks is loaded


def test_imagenet_vit_fills_the_video_transformer(tmp_path):
    names = timm_vit()
    weights = constant_tensors(names, dense=True)  # 86M floats written and read back for real
    torch.save(weights, tmp_path / "jx_vit_base_p16_224-80ecf9dd.pth")
    model = CounterfactualModel(CounterfactualModelConfig.paper())
    fresh_time_qkv = model.video_model.blocks[3].timeattn.qkv.weight.clone()

    report = load_pretrained(model, tmp_path / "jx_vit_base_p16_224-80ecf9dd.pth")

    assert report.source == "imagenet" and report.missing == [] and report.unexpected == []
    assert report.ignored == ["head.weight", "head.bias"]
    video_only = re.compile(r"video_model\.(temporal_embed|blocks\.\d+\.(timeattn|norm3)\..*)")
    kept = [k for k in model.state_dict() if video_only.fullmatch(k) or not k.startswith("video_model.")]
    assert report.kept == kept and len([k for k in kept if ".timeattn." in k]) == 12 * 4
    assert report.loaded == len(names) - 2 and report.resized == [] and report.foreign == []
    assert_landed(model, weights, {"video_model." + k: k for k in names if not k.startswith("head.")})
    # the time attention keeps its `zeros` init: the model starts as the ImageNet ViT applied per frame
    assert torch.equal(model.video_model.blocks[3].timeattn.qkv.weight, fresh_time_qkv)
    assert not fresh_time_qkv.any() and (model.video_model.blocks[3].timeattn.proj.weight == 1).all()


def test_egovlp_release_loads_by_name(tmp_path, parse_config, monkeypatch):
    names = egovlp_names()
    weights = constant_tensors(names, dense=False)
    released(tmp_path / "egovlp.pth", weights, parse_config, arch="FrozenInTime")
    monkeypatch.delitem(sys.modules, "parse_config")  # as on a machine without EgoVLP's code
    model = meta_model(CounterfactualModelConfig.egovlp())

    report = load_pretrained(model, tmp_path / "egovlp.pth")

    assert report.source == "egovlp" and report.missing == [] and report.unexpected == []
    assert report.ignored == [k for k in names if k.startswith(("text_model.", "txt_proj."))]
    assert len(report.ignored) == 4 + 6 * 16 + 2
    assert {"parse_config.ConfigParser", "argparse.Namespace"} < set(report.foreign)  # + pathlib's path class
    assert_landed(model, weights, {k: k for k in names if k.startswith(("video_model.", "vid_proj."))})


def test_hiervl_release_loads_by_name(tmp_path, parse_config):
    aggregator, unused = upstream_aggregator(256)
    names = egovlp_names() | aggregator | {"head_ht100m_linear_probe.0.weight": (100, 256)}
    names["head_ht100m_linear_probe.0.bias"] = (100,)
    weights = constant_tensors(names, dense=False)
    released(tmp_path / "hievl_sa.pth", weights, parse_config, arch="FrozenInTime")
    model = meta_model(CounterfactualModelConfig.hiervl())

    report = load_pretrained(model, tmp_path / "hievl_sa.pth")

    assert report.source == "hiervl" and report.missing == [] and report.unexpected == []
    skipped = ("text_model.", "txt_proj.", "head_ht100m_linear_probe.")
    assert set(report.ignored) == {k for k in names if k.startswith(skipped)} | unused
    assert not parse_config.ran  # the class was importable, yet none of its code ran
    assert_landed(
        model,
        weights,
        {
            k: k
            for k in names
            if k.startswith(("video_model.", "vid_proj.", "aggregation.")) and k not in unused
        },
    )


def test_cf_release_loads_by_name(tmp_path, parse_config):
    aggregator, unused = upstream_aggregator(768)
    names = prefixed("video_model.", space_time_transformer()) | aggregator
    for proj in ("vid_proj", "frame_proj"):
        names |= {f"{proj}.0.weight": (768, 768), f"{proj}.0.bias": (768,)}
    weights = constant_tensors(names, dense=False)
    released(tmp_path / "egoCF_release_epoch7.pth", weights, parse_config, arch="CF")
    model = meta_model(CounterfactualModelConfig.paper())

    report = load_pretrained(model, tmp_path / "egoCF_release_epoch7.pth", strict=True)

    assert report.source == "cf" and report.missing == [] and report.unexpected == []
    assert set(report.ignored) == unused and len(unused) == 5 + 6 * 7
    assert report.loaded == len(model.state_dict()) == len(names) - len(unused)
    assert_landed(model, weights, {k: k for k in names if k not in unused})


def tiny_cf_names(frames=16, img=64, proj=64) -> Shapes:
    names = prefixed("video_model.", space_time_transformer(dim=64, depth=2, img=img, frames=frames))
    names |= {k: v for k, v in upstream_aggregator(proj, depth=2)[0].items() if "temporal" not in k}
    for p in ("vid_proj", "frame_proj"):
        names |= {f"{p}.0.weight": (proj, 64), f"{p}.0.bias": (proj,)}
    return names


def tiny_model(**overrides) -> CounterfactualModel:
    torch.manual_seed(0)
    return CounterfactualModel(CounterfactualModelConfig.tiny(text_dim=64, **overrides))


def test_shape_mismatch_names_the_key_both_shapes_and_the_file(tmp_path, parse_config):
    released(
        tmp_path / "cf.pth", constant_tensors(tiny_cf_names(proj=32), dense=True), parse_config, arch="CF"
    )
    with pytest.raises(InputError) as error:  # a 64-d projection model, a 32-d file
        load_pretrained(tiny_model(), tmp_path / "cf.pth", source="cf")
    assert re.search(
        r"cf\.pth: .*vid_proj\.0\.weight: shape \[32, 64\] in the file, \[64, 64\] in the model",
        str(error.value),
    )


def test_position_tables_are_adapted(tmp_path, parse_config):
    # a 32 px timm ViT (2 x 2 grid) into the 64 px model (4 x 4): CLS row kept, grid resampled
    vit = constant_tensors(timm_vit(dim=64, depth=2, img=32), dense=True)
    vit["pos_embed"] = torch.cat([torch.full((1, 1, 64), -5.0), torch.full((1, 4, 64), 3.0)], dim=1)
    torch.save(vit, tmp_path / "vit32.pth")
    model = VideoTransformer(VideoTransformerConfig.tiny())
    report = load_pretrained(model, tmp_path / "vit32.pth")
    assert report.resized == ["pos_embed: [1, 5, 64] -> [1, 17, 64]"] and report.missing == []
    assert (model.pos_embed[0, 0] == -5).all()
    torch.testing.assert_close(model.pos_embed[0, 1:], torch.full((16, 64), 3.0))  # bicubic keeps a constant

    # temporal slots: a 4-slot file into the 16-slot model is padded with zeros; 16 into 4 keeps the first 4
    names = tiny_cf_names(frames=4)
    weights = constant_tensors(names, dense=True)
    released(tmp_path / "cf4.pth", weights, parse_config, arch="CF")
    model = tiny_model()
    report = load_pretrained(model, tmp_path / "cf4.pth")
    assert report.resized == ["video_model.temporal_embed: [1, 4, 64] -> [1, 16, 64]"]
    value = weights["video_model.temporal_embed"][0, 0, 0]
    assert (model.video_model.temporal_embed[:, :4] == value).all() and not model.video_model.temporal_embed[
        :, 4:
    ].any()

    short = tiny_model(video=VideoTransformerConfig.tiny(num_frames=4))
    report = load_pretrained(short, tmp_path / "cf4.pth")
    assert report.resized == [] and report.ok


def test_missing_and_unexpected_are_named(tmp_path, parse_config):
    # EgoVLP layout (no frame_proj, no aggregator) into CF's: frame_proj and the aggregator stay at init
    names = {k: v for k, v in tiny_cf_names().items() if not k.startswith(("frame_proj.", "aggregation."))}
    names["text_model.embeddings.word_embeddings.weight"] = (100, 64)
    names["video_model.blocks.0.attn.extra"] = (3,)
    released(tmp_path / "egovlp.pth", constant_tensors(names, dense=True), parse_config, arch="FrozenInTime")
    model = tiny_model()
    report = load_pretrained(model, tmp_path / "egovlp.pth")
    assert report.source == "egovlp"
    assert report.unexpected == ["video_model.blocks.0.attn.extra"]
    assert report.ignored == ["text_model.embeddings.word_embeddings.weight"]
    assert report.missing == [k for k in model.state_dict() if k.startswith(("frame_proj.", "aggregation."))]
    assert "missing (" in str(report) and "frame_proj.0.weight" in str(report)
    with pytest.raises(
        InputError, match=r"(?s)egovlp\.pth: does not fill the model exactly.*frame_proj\.0\.weight"
    ):
        load_pretrained(model, tmp_path / "egovlp.pth", strict=True)


def test_egoflow_checkpoints_load_as_cf(tmp_path):
    trained = tiny_model()
    weights = {
        "module.model." + k: v for k, v in trained.state_dict().items()
    }  # DDP around the training wrapper
    torch.save({"model": weights, "step": 12, "config": {"lr": 1e-5}}, tmp_path / "model.pt")
    fresh = tiny_model(video=VideoTransformerConfig.tiny(time_init="rand"))
    report = load_pretrained(fresh, tmp_path / "model.pt", strict=True)
    assert report.source == "cf" and report.ignored == [] and report.foreign == []
    for (name, a), b in zip(trained.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_not_a_state_dict_and_unknown_layouts_name_the_file(tmp_path):
    torch.save({"epoch": 3, "notes": "no weights"}, tmp_path / "odd.pth")
    with pytest.raises(InputError, match=r"odd\.pth: no state dict found: 'epoch' is a int"):
        load_pretrained(tiny_model(), tmp_path / "odd.pth")
    torch.save({"encoder.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match=r"other\.pth: cannot tell the checkpoint's layout"):
        load_pretrained(tiny_model(), tmp_path / "other.pth")
    with pytest.raises(InputError, match=r"nope\.pth: checkpoint not found"):
        load_pretrained(tiny_model(), tmp_path / "nope.pth")


class Getcwd:
    def __reduce__(self):
        return os.getcwd, ()


def test_foreign_classes_become_placeholders_but_blocked_modules_stay_refused(tmp_path, parse_config):
    torch.save(
        {"state_dict": {"w": torch.ones(2)}, "config": parse_config.ConfigParser()}, tmp_path / "r.pth"
    )
    state, foreign = load_released_checkpoint(tmp_path / "r.pth")
    config = state["config"]
    assert isinstance(config, ForeignObject) and config.name == "parse_config.ConfigParser"
    assert config.state["_config"] == {
        "name": "EgoClip_4f",
        "arch": {"type": "CF"},
    }  # plain data comes through
    assert not parse_config.ran and "parse_config.ConfigParser" in foreign
    assert torch.equal(state["state_dict"]["w"], torch.ones(2))

    torch.save({"state_dict": {}, "config": Getcwd()}, tmp_path / "evil.pth")
    with pytest.raises(InputError, match=r"evil\.pth.*refused to load"):
        load_released_checkpoint(tmp_path / "evil.pth")
