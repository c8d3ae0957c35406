"""The video transformer, the aggregator and the counterfactual model: shapes, upstream's attention pattern and
init, positions, and gradient checkpointing."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from egoflow.models import (
    Aggregator,
    AggregatorConfig,
    CounterfactualModel,
    CounterfactualModelConfig,
    VideoTransformer,
    VideoTransformerConfig,
)
from egoflow.models.video_transformer import DividedAttention, SpaceTimeBlock


def tiny(**overrides) -> VideoTransformerConfig:
    return VideoTransformerConfig.tiny(**overrides)  # 64 px, patch 16 -> n = 16 patches per frame, D = 64


def reference_attention(attn: DividedAttention, x: torch.Tensor, T: int, group: str) -> torch.Tensor:
    """Upstream's VarAttention written out group by group, with explicit softmax (no SDPA, no reshapes).

    CLS query: all tokens. Patch query in frame f at position j: CLS + the tokens of its group, which is
    frame f (space) or position j in every frame (time). Token index of (f, j): 1 + f * n + j.
    """
    B, N, C = x.shape
    n, h = (N - 1) // T, attn.heads
    q, k, v = attn.qkv(x).view(B, N, 3, h, C // h).unbind(2)  # each [B, N, h, hd]
    scale = (C // h) ** -0.5

    def attend(queries, keys):
        w = torch.einsum("bqhd,bkhd->bhqk", q[:, queries], k[:, keys]) * scale
        return torch.einsum("bhqk,bkhd->bqhd", w.softmax(-1), v[:, keys])

    out = torch.zeros(B, N, h, C // h)
    out[:, :1] = attend([0], list(range(N)))
    groups = range(T) if group == "space" else range(n)
    for g in groups:
        members = [1 + g * n + j for j in range(n)] if group == "space" else [1 + f * n + g for f in range(T)]
        out[:, members] = attend(members, [0] + members)
    return attn.proj(out.reshape(B, N, C))


def vit_block(block: SpaceTimeBlock, tokens: torch.Tensor) -> torch.Tensor:
    """A plain ViT block (timm order) on [B, 1 + n, D], with the space-time block's spatial weights."""
    x = tokens + reference_attention(block.attn, block.norm1(tokens), 1, "space")  # T = 1: joint attention
    return x + block.mlp(block.norm2(x))


def test_tiny_shapes_and_presets():
    torch.manual_seed(0)
    model = VideoTransformer(tiny())
    cls, frames = model(torch.randn(2, 4, 3, 64, 64))
    assert cls.shape == (2, 64) and frames.shape == (2, 4, 64)
    paper = VideoTransformerConfig.vit_base()
    assert (paper.img_size, paper.patch_size, paper.dim, paper.depth, paper.heads) == (224, 16, 768, 12, 12)
    assert (paper.num_frames, paper.qkv_bias, paper.ln_eps, paper.drop_path, paper.time_init) == (
        16,
        True,
        1e-6,
        0.0,
        "zeros",
    )
    with pytest.raises(ValueError, match=r"\[2, 17, 3, 64, 64\].*at most 16 frames of 64x64"):
        model(torch.randn(2, 17, 3, 64, 64))
    with pytest.raises(ValueError, match="at most 16 frames of 64x64"):
        model(torch.randn(1, 4, 3, 32, 32))
    with pytest.raises(ValueError, match="time_init"):
        tiny(time_init="ones")


def test_counterfactual_model_shapes_and_upstream_names():
    torch.manual_seed(0)
    model = CounterfactualModel(CounterfactualModelConfig.tiny()).eval()  # P = 64, tiny FLAVA text 32-d
    clips = torch.randn(3, 4, 3, 64, 64)
    video_emb, frame_emb = model.encode_video(clips)
    assert video_emb.shape == (3, 64) and frame_emb.shape == (3, 4, 64)
    assert model.aggregate(torch.randn(2, 16, 64)).shape == (2, 64)
    assert model.encode_text(torch.randn(5, 32)).shape == (5, 64)

    out = model(clips, text=torch.randn(3, 32))
    assert out.video.shape == (3, 64) and out.frames.shape == (3, 4, 64) and out.text.shape == (3, 64)
    assert out.clips is None
    torch.testing.assert_close(out.video, video_emb)

    videos = torch.randn(2, 3, 4, 3, 64, 64)  # 2 videos of 3 clips of 4 frames
    out = model(videos)
    assert out.video.shape == (2, 64) and out.clips.shape == (2, 3, 64) and out.frames.shape == (2, 3, 4, 64)
    torch.testing.assert_close(out.clips[1], model.encode_video(videos[1])[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.video, model.aggregate(out.clips))

    # the released CF checkpoint's top-level names: no text projection when text is 768-d like the projection
    with torch.device("meta"):
        paper = CounterfactualModel(CounterfactualModelConfig.paper())
    assert {k.split(".")[0] for k in paper.state_dict()} == {
        "video_model",
        "vid_proj",
        "frame_proj",
        "aggregation",
    }
    assert paper.vid_proj[0].weight.shape == (768, 768) and paper.frame_proj[0].weight.shape == (768, 768)
    assert tuple(model.txt_proj[0].weight.shape) == (64, 32)


def test_egovlp_projection_layout():
    with torch.device("meta"):
        egovlp = CounterfactualModel(CounterfactualModelConfig.egovlp())
        with_text = CounterfactualModel(CounterfactualModelConfig.egovlp(text_dim=768))
    assert {k.split(".")[0] for k in egovlp.state_dict()} == {"video_model", "vid_proj"}  # average: no params
    assert egovlp.vid_proj[0].weight.shape == (256, 768)
    assert isinstance(with_text.txt_proj[0], torch.nn.ReLU) and with_text.txt_proj[1].weight.shape == (
        256,
        768,
    )
    with pytest.raises(ValueError, match="no text side"):
        egovlp.encode_text(torch.randn(1, 768))

    torch.manual_seed(0)
    model = CounterfactualModel(CounterfactualModelConfig.tiny(projection="egovlp", text_dim=None))
    video = torch.randn(2, 3, 3, 64, 64)
    cls, frames = model.video_model(video)
    video_emb, frame_emb = model.encode_video(video)
    torch.testing.assert_close(frame_emb, model.vid_proj(frames))  # no frame_proj: frames share vid_proj


def test_paper_size_parameter_count():
    with torch.device("meta"):
        model = CounterfactualModel(CounterfactualModelConfig.paper())
    # ViT-B/16 without its head: 85,798,656 (timm's 86,567,656 minus the 768*1000 + 1000 classifier).
    # Time attention per block: qkv 768*2304 + 2304 = 1,771,776, proj 768*768 + 768 = 590,592, norm3 1,536
    # -> 2,363,904; x 12 = 28,366,848. Temporal table 16 * 768 = 12,288. Total 114,177,792.
    assert model.video_model.num_params() == 85_798_656 + 28_366_848 + 12_288
    # vid_proj + frame_proj: 2 * 590,592. Aggregator block (no qkv bias): 1,536 + 1,769,472 + 590,592 + 1,536
    # + 2,362,368 + 2,360,064 = 7,085,568; x 6 = 42,513,408, + cls 768 + pos 16*768 + norm 1,536 = 42,528,000.
    assert sum(p.numel() for p in model.parameters()) == 114_177_792 + 1_181_184 + 42_528_000


def test_paper_size_forward_two_frames():
    torch.manual_seed(0)
    with torch.device("meta"):
        model = VideoTransformer(VideoTransformerConfig.vit_base())
    model.to_empty(device="cpu")
    for p in model.parameters():  # stand-in weights; the shapes are the point
        torch.nn.init.normal_(p, std=0.02)
    with torch.no_grad():
        cls, frames = model.eval()(torch.randn(1, 2, 3, 224, 224))
    assert cls.shape == (1, 768) and frames.shape == (1, 2, 768)
    assert torch.isfinite(cls).all() and torch.isfinite(frames).all()


@pytest.mark.parametrize("group", ["space", "time"])
def test_divided_attention_matches_upstream_pattern(group):
    torch.manual_seed(0)
    attn = DividedAttention(dim=16, heads=2, qkv_bias=True, dropout=0.0)
    T, n = 3, 4
    x = torch.randn(2, 1 + T * n, 16)
    torch.testing.assert_close(
        attn(x, T, group), reference_attention(attn, x, T, group), atol=1e-5, rtol=1e-5
    )


def test_zeros_time_init_makes_a_block_a_vit_block_per_frame():
    torch.manual_seed(0)
    config = tiny(dim=16, heads=2)
    block = SpaceTimeBlock(config, drop_path_rate=0.0).eval()
    # upstream's values: qkv weight and bias 0, out-projection weight filled with ones (not the identity), bias 0
    assert not block.timeattn.qkv.weight.any() and not block.timeattn.qkv.bias.any()
    assert (block.timeattn.proj.weight == 1).all() and not block.timeattn.proj.bias.any()

    T, n = 3, 5
    x = torch.randn(2, 1 + T * n, 16)
    with torch.no_grad():
        out = block(x, T)
        for f in range(T):
            frame = slice(1 + f * n, 1 + (f + 1) * n)
            alone = vit_block(block, torch.cat([x[:, :1], x[:, frame]], dim=1))
            torch.testing.assert_close(out[:, frame], alone[:, 1:], atol=1e-5, rtol=1e-5)
        # one frame: the CLS token too (with several frames its query sees every frame, unlike a ViT's)
        one = x[:, : 1 + n]
        torch.testing.assert_close(block(one, 1), vit_block(block, one), atol=1e-5, rtol=1e-5)

    rand = SpaceTimeBlock(tiny(dim=16, heads=2, time_init="rand"), drop_path_rate=0.0).eval()
    rand.load_state_dict(
        {k: v for k, v in block.state_dict().items() if not k.startswith("timeattn.")}, strict=False
    )
    with torch.no_grad():
        alone = vit_block(rand, torch.cat([x[:, :1], x[:, 1 : 1 + n]], dim=1))
        assert not torch.allclose(rand(x, T)[:, 1 : 1 + n], alone[:, 1:], atol=1e-3)  # time attention is live


def test_positions_spatial_table_tiled_and_first_temporal_slots():
    torch.manual_seed(0)
    model = VideoTransformer(tiny()).eval()
    video = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        model.temporal_embed.normal_()
        before = model(video)
        model.temporal_embed[:, 4:] = 1e3  # slots a 4-frame clip does not reach
        after = model(video)
    torch.testing.assert_close(after, before)

    # spatial rows are shared by every frame: the same frame repeated gives the same per-frame embedding once
    # the temporal table is zero (and then frames differ again when it is not)
    same = video[:, :1].expand(1, 4, 3, 64, 64)
    with torch.no_grad():
        model.temporal_embed.zero_()
        _, frames = model(same)
        torch.testing.assert_close(frames[:, 1:], frames[:, :1].expand(1, 3, 64), atol=1e-5, rtol=1e-5)
        model.temporal_embed.normal_()
        _, frames = model(same)
        assert not torch.allclose(frames[:, 1], frames[:, 0], atol=1e-3)


def test_embeddings_are_final_norm_cls_and_frame_means():
    torch.manual_seed(0)
    model = VideoTransformer(tiny()).eval()
    seen = {}
    model.norm.register_forward_hook(lambda module, args, out: seen.update(tokens=out))
    with torch.no_grad():
        cls, frames = model(torch.randn(2, 3, 3, 64, 64))
    tokens = seen["tokens"]  # [2, 1 + 3 * 16, 64]
    torch.testing.assert_close(cls, tokens[:, 0])
    torch.testing.assert_close(frames[:, 2], tokens[:, 1 + 2 * 16 : 1 + 3 * 16].mean(dim=1))


def test_average_aggregator_is_the_mean():
    clips = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 4)
    out = Aggregator(AggregatorConfig(kind="average", dim=4))(clips)
    # video 0: clips [0..3], [4..7], [8..11] -> [4, 5, 6, 7]; video 1 adds 12
    torch.testing.assert_close(out, torch.tensor([[4.0, 5, 6, 7], [16, 17, 18, 19]]))
    assert not list(Aggregator(AggregatorConfig(kind="average", dim=4)).parameters())


def test_self_attention_aggregator():
    torch.manual_seed(0)
    config = AggregatorConfig(dim=32, heads=4, depth=2)
    paper = AggregatorConfig()
    assert (paper.depth, paper.heads, paper.mlp_ratio, paper.qkv_bias, paper.drop_path, paper.num_clips) == (
        6,
        8,
        4.0,
        False,
        0.1,
        16,
    )
    agg = Aggregator(config).eval()
    assert agg.blocks[0].attn.qkv.bias is None
    assert [b.drop_path_rate for b in Aggregator(paper).blocks] == pytest.approx(
        [0, 0.02, 0.04, 0.06, 0.08, 0.1]
    )
    clips = torch.randn(2, 16, 32)
    out = agg(clips)
    assert out.shape == (2, 32)
    # pre-norm blocks then a final LayerNorm: the output is a normalised CLS token (LN weight 1, bias 0 at init)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2), atol=1e-5, rtol=0)
    # fewer clips use the first rows of the table
    with torch.no_grad():
        short = agg(clips[:, :5])
        agg.pos_embed[:, 5:] = 1e3
        torch.testing.assert_close(agg(clips[:, :5]), short)
    with pytest.raises(ValueError, match="17 clips"):
        agg(torch.randn(1, 17, 32))
    with pytest.raises(ValueError, match="aggregator.dim 768 must equal projection_dim 256"):
        CounterfactualModelConfig(projection_dim=256)


def test_config_round_trip_through_dicts():
    config = CounterfactualModelConfig.tiny()
    assert CounterfactualModelConfig.from_dict(config.to_dict()) == config
    built = CounterfactualModelConfig.from_dict(
        {"projection": "egovlp", "projection_dim": 256, "video": {"depth": 2}}
    )
    assert built.aggregator.dim == 256 and built.video.depth == 2 and built.video.dim == 768


def test_gradient_checkpointing_gives_the_same_output_and_gradients():
    torch.manual_seed(0)
    plain = CounterfactualModel(CounterfactualModelConfig.tiny()).train()
    ckpt = CounterfactualModel(CounterfactualModelConfig.tiny(video=tiny(grad_checkpoint=True))).train()
    ckpt.load_state_dict(plain.state_dict())
    video = torch.randn(2, 4, 3, 64, 64)
    outputs = []
    for model in (plain, ckpt):
        emb, frames = model.encode_video(video)
        (emb.square().sum() + frames.sin().sum()).backward()
        outputs.append(torch.cat([emb.flatten(), frames.flatten()]))
    torch.testing.assert_close(outputs[1], outputs[0])
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters(), strict=True):
        if p.grad is None:
            assert q.grad is None, name
            continue
        torch.testing.assert_close(q.grad, p.grad, msg=name)
    assert plain.video_model.blocks[0].timeattn.qkv.weight.grad.abs().sum() > 0


def test_drop_path_only_in_training():
    torch.manual_seed(0)
    model = VideoTransformer(tiny(drop_path=0.5))
    video = torch.randn(4, 2, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        a, b = model(video)[0], model(video)[0]
    torch.testing.assert_close(a, b)
    model.train()
    with torch.no_grad():
        assert not torch.allclose(model(video)[0], model(video)[0])
    assert math.isclose(model.blocks[-1].drop_path_rate, 0.5) and model.blocks[0].drop_path_rate == 0


def test_sdpa_is_used_for_attention(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = VideoTransformer(tiny(depth=1))
    model(torch.randn(1, 2, 3, 64, 64))
    assert len(calls) == 4  # per block: CLS + groups, for time and for space
