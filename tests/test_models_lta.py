"""Ego4D LTA model: the three aggregators, Z heads split into verb / noun, K sampled sequences."""

from __future__ import annotations

import pytest
import torch

from egoflow.models.lta import LtaConfig, LtaModel, sample_sequences


@pytest.mark.parametrize("aggregator", ["concat", "mean", "transformer"])
def test_aggregators_and_heads(aggregator):
    torch.manual_seed(0)
    cfg = LtaConfig(input_dim=6, num_input=2, num_future=20, num_verbs=4, num_nouns=5, aggregator=aggregator)
    cfg.dim, cfg.layers, cfg.heads = 8, 1, 2
    model = LtaModel(cfg)
    verb, noun = model(torch.randn(3, 2, 6))
    assert verb.shape == (3, 20, 4) and noun.shape == (3, 20, 5)
    assert len(model.heads) == 20  # independent heads, one per future position
    verbs, nouns = model.eval().generate(
        torch.randn(3, 2, 6), k=5, generator=torch.Generator().manual_seed(0)
    )
    assert verbs.shape == (3, 5, 20) and nouns.shape == (3, 5, 20)
    assert verbs.max() < 4 and nouns.max() < 5


def test_k1_is_the_argmax_and_sampling_follows_the_logits():
    logits = torch.tensor([[[0.0, 10.0, 0.0], [10.0, 0.0, 0.0]]])  # [B=1, Z=2, C=3]
    assert sample_sequences(logits, 1).tolist() == [[[1, 0]]]
    certain = torch.tensor([[[0.0, 1e4, 0.0]]])
    assert sample_sequences(certain, 5).tolist() == [[[1]] * 5]
