"""The object-state model: head sizes 2C + 1 / C + 1, category columns of the softmaxes, both backbones."""

from __future__ import annotations

import pytest
import torch

from egoflow.models.state_heads import StateHeads, StateHeadsConfig
from egoflow.states.run import MethodConfig, MultiTaskStates, OptimConfig
from egoflow.train import TrainConfig


def test_heads_have_2c_plus_1_and_c_plus_1_outputs_and_probabilities_pick_the_category():
    torch.manual_seed(0)
    model = StateHeads(
        StateHeadsConfig(num_categories=3, backbone="cnn", cnn_width=4, hidden=(8,), image_size=16)
    )
    frames = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    state, action = model(frames)
    assert state.shape == (5, 7) and action.shape == (5, 4)  # 2 * 3 + 1, 3 + 1
    p1, p2, pa = model.probabilities(frames, 2, chunk=2)  # chunks of 2 frames give the same numbers
    full_state, full_action = state.softmax(-1), action.softmax(-1)
    assert torch.allclose(p1, full_state[:, 4], atol=1e-6) and torch.allclose(p2, full_state[:, 5], atol=1e-6)
    assert torch.allclose(pa, full_action[:, 2], atol=1e-6)


def test_tiny_clip_tower_is_the_layer_normed_cls_token():
    cfg = StateHeadsConfig(
        num_categories=2, backbone="clip", hidden=(8,), image_size=32,
        clip={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "patch_size": 16},
    )  # fmt: skip
    model = StateHeads(cfg)
    state, action = model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    assert state.shape == (2, 5) and action.shape == (2, 3) and model.backbone.width == 16


def test_training_step_losses_and_per_group_optimisers():
    torch.manual_seed(0)
    model = StateHeads(
        StateHeadsConfig(num_categories=2, backbone="cnn", cnn_width=4, hidden=(8,), image_size=16)
    )
    wrapper = MultiTaskStates(model, MethodConfig(kappa=2), OptimConfig())
    batch = {
        "frames": torch.randint(0, 256, (2, 7, 3, 16, 16), dtype=torch.uint8),
        "length": torch.tensor([7, 4]),
        "category": torch.tensor([0, 1]),
        "weight": torch.tensor([1.0, 0.0]),  # the second video is below its threshold: no loss from it
    }
    losses = wrapper(batch, objective="states")
    assert set(losses) == {"state", "action"} and all(v.item() > 0 for v in losses.values())
    losses["state"].backward()
    optimizers = wrapper.configure_optimizers(TrainConfig())
    assert [type(o).__name__ for o in optimizers] == ["SGD", "AdamW"]
    assert optimizers[0].param_groups[0]["lr"] == 1e-4 and optimizers[1].param_groups[0]["lr"] == 1e-5
    heads = sum(p.numel() for g in optimizers[0].param_groups for p in g["params"])
    assert heads == sum(p.numel() for p in model.head_parameters())


def test_flatten_pooling_keeps_the_layout_and_a_bad_pool_is_named():
    torch.manual_seed(0)
    for size in (16, 30, 32):
        cfg = StateHeadsConfig(
            num_categories=2, backbone="cnn", cnn_width=4, cnn_pool="flatten", hidden=(8,), image_size=size
        )
        state, action = StateHeads(cfg)(torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8))
        assert state.shape == (3, 5) and action.shape == (3, 3)  # 2 * 2 + 1, 2 + 1, whatever the side
    with pytest.raises(ValueError, match="cnn_pool.*max"):
        StateHeads(StateHeadsConfig(num_categories=2, backbone="cnn", cnn_pool="max", image_size=16))
