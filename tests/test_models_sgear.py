"""S-GEAR: shapes of both variants, the initial gates, the Toeplitz bias, and the losses' definitions."""

from __future__ import annotations

import math

import pytest
import torch

from egoflow.losses import sgear_losses, sgear_prototype_regularisation, sgear_semantic_loss
from egoflow.models.sgear import SGear, SGearConfig, ToeplitzBias

TINY = dict(dim=16, heads=4, num_frames=5, num_actions=7, decoder_width=16, decoder_layers=1, decoder_heads=2)


def test_features_variant_shapes_and_initial_gates():
    torch.manual_seed(0)
    model = SGear(SGearConfig(input_dim=12, **TINY), torch.randn(7, 12))
    out = model(torch.randn(3, 5, 12))
    assert out["logits"].shape == (3, 7) and out["past_logits"].shape == (3, 5, 7)
    assert out["similarities"].shape == (3, 7) and out["future_z"].shape == (3, 16)
    assert out["similarities"].abs().max() <= 1 + 1e-5  # cosines
    for gate in (model.alpha, model.beta):
        assert float(gate.detach()) == 0.5
    assert torch.all(model.prot_attn.gate == 0.5)
    assert not any(p is model.prototypes for p in model.parameters())  # features variant: frozen prototypes
    # the decoder is a transformers GPT2Model of the configured size
    assert type(model.decoder).__name__ == "GPT2Model" and model.decoder.config.n_layer == 1


def test_frames_variant_runs_a_vit_and_two_tca_blocks_end_to_end():
    torch.manual_seed(0)
    vit = dict(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2)
    cfg = SGearConfig(
        variant="frames", vit=vit | {"intermediate_size": 32}, learnable_prototypes=True, **TINY
    )
    model = SGear(cfg, torch.randn(7, 16))
    assert len(model.tca) == 2
    out = model(torch.randn(2, 5, 3, 16, 16))
    losses = sgear_losses(out, torch.tensor([1, -1]), torch.full((2, 5), -1), torch.eye(7))
    sum(losses.values()).backward()
    assert (
        model.prototypes.grad is not None
        and model.backbone.embeddings.patch_embeddings.projection.weight.grad is not None
    )


def test_toeplitz_bias_is_symmetric_with_cos_and_sin_head_groups():
    bias = ToeplitzBias(heads=8, size=4)
    m = bias()
    assert torch.allclose(m, m.transpose(1, 2))
    assert torch.allclose(m[0], torch.full((4, 4), math.cos(0.5)))  # heads 0-1 cos, 2-3 sin, 4-5 cos, 6-7 sin
    assert torch.allclose(m[2], torch.full((4, 4), math.sin(0.5)))
    assert torch.allclose(m[4], m[0]) and torch.allclose(m[6], m[2])


def test_semantic_loss_is_normalised_l1_of_similarity_profiles():
    language = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.25]])
    # a prediction whose profile is the true row scaled (x2) has loss 0: profiles are L1-normalised
    assert float(sgear_semantic_loss(2 * language[[1]], language, torch.tensor([1]))) == pytest.approx(0)
    # s = (1, 0, 0) vs l = (1, .5, 0)/1.5: |1 - 2/3| + |0 - 1/3| + 0 = 2/3
    assert float(
        sgear_semantic_loss(torch.tensor([[1.0, 0, 0]]), language, torch.tensor([0]))
    ) == pytest.approx(2 / 3)
    # unlabelled samples are skipped
    assert float(sgear_semantic_loss(torch.tensor([[1.0, 0, 0]]), language, torch.tensor([-1]))) == 0


def test_prototype_regularisation_is_two_minus_two_cosine():
    z = torch.tensor([[1.0, 0.0]])
    prototypes = torch.tensor([[1.0, 1.0]])
    expected = 2 - 2 * math.cos(math.pi / 4)
    assert float(sgear_prototype_regularisation(z, prototypes, torch.tensor([0]))) == pytest.approx(expected)
