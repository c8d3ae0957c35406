"""The MI-MM fine-tuning loss, the positive-caption sampling and the JPoSE relevancy against hand-computed cases."""

import numpy as np
import pandas as pd
import pytest
import torch

from egoflow.evaluate import CharadesFinetuning, EpicTrainClips, batch_relevancy
from egoflow.losses import mi_max_margin, multilabel_bce
from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig
from egoflow.pretrain import DataConfig


def test_mi_max_margin_hand_computed():
    # Upstream AdaptiveMaxMarginRankingLoss: row i's margin = 0.2 * weight_i; weights [1, 0.5] -> m = [0.2, 0.1].
    # sim = [[0.9, 0.5], [0.8, 0.6]] (clips x captions).
    # clip vs captions: (0,1) relu(0.2 - (0.9 - 0.5)) = 0; (1,0) relu(0.1 - (0.6 - 0.8)) = 0.3.
    # caption vs clips: (0,1) relu(0.2 - (0.9 - 0.8)) = 0.1; (1,0) relu(0.1 - (0.6 - 0.5)) = 0. Mean of 4 = 0.1.
    sim = torch.tensor([[0.9, 0.5], [0.8, 0.6]])
    weight = torch.tensor([1.0, 0.5])
    assert mi_max_margin(sim, weight, 0.2).item() == pytest.approx(0.1)
    # The in-batch option (not upstream) also scales by 1 - rel: rel 0.5 off-diagonal -> m = [0.1, 0.05]:
    # (1,0) clip side relu(0.05 + 0.2) = 0.25, every other term 0 -> 0.25 / 4.
    rel = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    assert mi_max_margin(sim, weight, 0.2, rel).item() == pytest.approx(0.0625)
    # Zero-weight positives ask for no margin: only the strict violation (0.8 > 0.6) remains, 0.2 / 4.
    assert mi_max_margin(sim, torch.zeros(2), 0.2).item() == pytest.approx(0.05)


def test_positive_captions_sampled_by_relevancy():
    # Captions: "a" (verb 1, nouns {0}), "b" (verb 1, nouns {1}), "c" (verb 2, nouns {2}). Clip 0 narrates "a":
    # relevancies 1, 0.5 (same verb), 0 -> positives {a, b}; clip 2 ("c") relates only to itself (weight 1).
    table = pd.DataFrame(
        {
            "video_id": ["v"] * 3,
            "start_sec": [0.0, 1.0, 2.0],
            "stop_sec": [1.0, 2.0, 3.0],
            "verb_class": [1, 1, 2],
            "all_noun_classes": [[0], [1], [2]],
            "narration": ["a", "b", "c"],
        }
    )
    clips = EpicTrainClips(table, ["a", "b", "c"], np.eye(3), None, DataConfig(), seed=0, threshold=0.1)
    drawn = set()
    for epoch in range(20):
        clips.set_epoch(epoch)
        j, w = clips.positive(0)
        assert (j, w) in {(0, 1.0), (1, 0.5)}
        drawn.add(j)
        assert clips.positive(2) == (2, 1.0)
    assert drawn == {0, 1}  # both positives are drawn over 20 epochs (chance of missing one: 2 * 2^-20)
    clips.set_epoch(3)
    assert clips.positive(0) == clips.positive(0)  # seeded per (seed, epoch, index)


def test_batch_relevancy():
    # Clip 0: verb 1, nouns {0, 2}; clip 1: verb 1, nouns {2}; clip 2: verb 3, nouns {1}.
    # (0,1) = 0.5 + 0.5 * 1/2 = 0.75; (0,2) = 0; (1,2) = 0; diagonal 1.
    verbs = torch.tensor([1, 1, 3])
    nouns = torch.tensor([[1, 0, 1], [0, 0, 1], [0, 1, 0]])
    expected = torch.tensor([[1, 0.75, 0], [0.75, 1, 0], [0, 0, 1]])
    torch.testing.assert_close(batch_relevancy(verbs, nouns), expected)


def test_multilabel_bce():
    # logits 0 -> p = 1/2 -> -log(1/2) = ln 2 per class, whatever the target.
    assert multilabel_bce(torch.zeros(2, 3), torch.tensor([[1, 0, 1], [0, 0, 0]])).item() == pytest.approx(
        0.693147, 1e-5
    )


def test_charades_finetuning_loss_is_bce_of_sharpened_class_cosines():
    # The fine-tuning head is the zero-shot Charades score (cosine of video and class-name embeddings) / tau,
    # trained with per-class BCE; a step lowers it on a fixed batch.
    torch.manual_seed(0)
    model = CounterfactualModel(CounterfactualModelConfig.tiny(text_dim=32))
    class_text = torch.randn(5, 32)
    wrapper = CharadesFinetuning(model, class_text, temperature=0.05)
    batch = {
        "video": torch.randn(2, 4, 3, 64, 64),
        "targets": torch.tensor([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 0]]),
    }
    loss = wrapper(batch)["bce"]
    with torch.no_grad():
        video = torch.nn.functional.normalize(model.encode_video(batch["video"])[0], dim=-1)
        text = torch.nn.functional.normalize(model.encode_text(class_text), dim=-1)
        expected = multilabel_bce(video @ text.T / 0.05, batch["targets"])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert (
        "class_text" not in wrapper.state_dict()
    )  # the frozen class features are not saved with the weights
    optimiser = torch.optim.AdamW(wrapper.parameters(), lr=1e-3)
    loss.backward()
    optimiser.step()
    assert wrapper(batch)["bce"].item() < loss.item()
