"""The contrastive losses against hand-computed small cases, and their gradients.

Hand cases use 2-d unit vectors at 0/90/180/270 degrees, so every cosine is 1, 0 or -1, and τ = 1/ln 2, so that
e^{s/τ} = 2^s is 2, 1 or 1/2: every softmax below is a ratio of small numbers. eps (1e-8) shifts these by < 1e-8.
"""

from __future__ import annotations

import math
from math import log

import pytest
import torch

from egoflow.losses import (
    SETTINGS,
    LossSetting,
    egonce,
    state_change_loss,
    summary_loss,
    tag_positive_mask,
)

TAU = 1 / math.log(2)  # e^{s/τ} = 2^s
E, N, W, S = (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)  # east, north, west, south


def vec(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_tag_positive_mask_needs_a_shared_verb_and_a_shared_noun():
    #        verbs      nouns
    # row 0  {0}        {0, 1}
    # row 1  {0}        {1}       shares verb 0 and noun 1 with row 0 -> positive
    # row 2  {1}        {0}       shares a noun with row 0 but no verb
    # row 3  {0}        {5}       shares verb 0 with rows 0, 1 but no noun
    # row 4  {}         {}        no tags: only itself
    verb = torch.zeros(5, 2, dtype=torch.bool)
    noun = torch.zeros(5, 6, dtype=torch.bool)
    for i, (vs, ns) in enumerate([([0], [0, 1]), ([0], [1]), ([1], [0]), ([0], [5]), ([], [])]):
        verb[i, vs] = True
        noun[i, ns] = True
    expected = torch.eye(5, dtype=torch.bool)
    expected[0, 1] = expected[1, 0] = True
    assert torch.equal(tag_positive_mask(verb, noun), expected)
    assert torch.equal(tag_positive_mask(verb.float(), noun.float()), expected)  # 0/1 floats read the same


# EgoNCE case: N = 3, positives = diagonal + (0, 1) sharing tags.
#   video  v0 = E, v1 = N, v2 = W          text  t0 = E, t1 = W, t2 = N
#   S = cos(v_i, t_j) = [[1, -1, 0], [0, 0, 1], [-1, 1, 0]],  2^S = [[2, 1/2, 1], [1, 1, 2], [1/2, 2, 1]]
#   P = [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
#   video->text: row 0 -log((2 + 1/2) / 3.5) = log 1.4;  row 1 -log((1 + 1) / 4) = log 2;  row 2 -log(1 / 3.5) = log 3.5
#                mean = log(1.4 · 2 · 3.5) / 3 = log(9.8) / 3 = 0.76079413
#   text->video: 2^{S^T} = [[2, 1, 1/2], [1/2, 1, 2], [1, 2, 1]] with P^T = P:
#                row 0 log(3.5 / 3);  row 1 log(3.5 / 1.5);  row 2 log 4;  mean = log(98 / 9) / 3 = 0.79591430
#   symmetric = sum of the two directions (EgoVLP's EgoNCE returns -loss_i - loss_j) = 1.55670843
EGONCE_VIDEO, EGONCE_TEXT = vec(E, N, W), vec(E, W, N)
EGONCE_POSITIVES = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)


def test_egonce_video_to_text_and_symmetric():
    args = (EGONCE_VIDEO, EGONCE_TEXT, EGONCE_POSITIVES, TAU)
    assert egonce(*args).item() == pytest.approx(log(9.8) / 3, abs=1e-6)  # 0.76079413
    assert egonce(*args, symmetric=True).item() == pytest.approx(
        log(9.8 * 98 / 9) / 3, abs=1e-6
    )  # 1.55670843
    # rows 1..2 only: (log 2 + log 3.5) / 2 = log(7) / 2 = 0.97295507
    assert egonce(*args, rows=slice(1, 3)).item() == pytest.approx(log(7) / 2, abs=1e-6)
    # the embeddings' norms do not matter (cosine)
    assert egonce(EGONCE_VIDEO * 3, EGONCE_TEXT * 0.5, EGONCE_POSITIVES, TAU).item() == pytest.approx(
        log(9.8) / 3, abs=1e-6
    )


# State-change case: N = 2 samples, 4 frames each, D = 2.
#   sample 0: f0 = E, f1 = E, f2 = N, f3 = W, Before = N, After = W, CF1 = N, CF2 = S, CF3 = E
#   sample 1: everything = N
STATE_FRAMES = vec([E, E, N, W], [N, N, N, N])
STATE_BEFORE, STATE_AFTER = vec(N, N), vec(W, N)
STATE_CFS = vec([N, S, E], [N, N, N])
# Candidates are each set over BOTH samples; 2^cos per candidate:
# "counterfactual" (7 sets):
#   f0_0 = E:  own {f1 2, Before 1, f3 1/2, After 1/2, CF 1, 1, 2} = 8, sample 1's seven = 7       -> D = 15
#              ℓ0_0 = -½[log(2/15) + log(1/15)] = ½ log 112.5
#   f3_0 = W:  own {f2 1, After 2, f0 1/2, Before 1, CF 1, 1, 1/2} = 7, sample 1's = 7            -> D = 14
#              ℓ3_0 = -½[log(1/14) + log(2/14)] = ½ log 98
#   f0_1 = N:  own 7·2 = 14, sample 0's {f1 1, Before 2, f3 1, After 1, CF 2, 1/2, 1} = 8.5       -> D = 22.5
#              ℓ0_1 = -½[2 log(2/22.5)] = log 11.25
#   f3_1 = N:  own 14, sample 0's {f2 2, After 1, f0 1, Before 2, CF 2, 1/2, 1} = 9.5              -> D = 23.5
#              ℓ3_1 = log 11.75
#   loss = [½ log 112.5 + ½ log 98 + log 11.25 + log 11.75] / 4 = 2.38454543
STATE_CF = (0.5 * log(112.5) + 0.5 * log(98) + log(11.25) + log(11.75)) / 4
# "before_after" (f0: f1, Before | f3, After;  f3: f2, After | f0, Before):
#   f0_0: 4 + 4 = 8 -> ½ log 32;  f3_0: 4.5 + 4 = 8.5 -> ½ log(8.5² / 2) = ½ log 36.125
#   f0_1: 8 + 5 = 13 -> log 6.5;  f3_1: 8 + 6 = 14 -> log 7
#   loss = [½ log 32 + ½ log 36.125 + log 6.5 + log 7] / 4 = 1.83601821
STATE_BEFORE_AFTER = (0.5 * log(32) + 0.5 * log(36.125) + log(6.5) + log(7)) / 4
# "before" (f0: f1, Before | f3;  f3: f2 | f0, Before — one positive, still halved):
#   f0_0: 3.5 + 3 = 6.5 -> ½ log(6.5² / 2) = ½ log 21.125;  f3_0: 2.5 + 3 = 5.5, ℓ3_0 = -½ log(1/5.5) = ½ log 5.5
#   f0_1: 6 + 4 = 10 -> log 5;  f3_1: 6 + 5 = 11, ℓ3_1 = -½ log(2/11) = ½ log 5.5
#   loss = [½ log 21.125 + ½ log 5.5 + log 5 + ½ log 5.5] / 4 = 1.20985365
STATE_BEFORE_ONLY = (0.5 * log(21.125) + 0.5 * log(5.5) + log(5) + 0.5 * log(5.5)) / 4
STATE_EXPECTED = {"counterfactual": STATE_CF, "before_after": STATE_BEFORE_AFTER, "before": STATE_BEFORE_ONLY}


@pytest.mark.parametrize("variant", sorted(STATE_EXPECTED))
def test_state_change_loss_variants(variant):
    loss = state_change_loss(STATE_FRAMES, STATE_BEFORE, STATE_AFTER, STATE_CFS, TAU, variant=variant)
    assert loss.item() == pytest.approx(STATE_EXPECTED[variant], abs=1e-6)


def test_state_change_loss_rows_use_the_global_pool():
    args = (STATE_FRAMES, STATE_BEFORE, STATE_AFTER, STATE_CFS, TAU)
    # sample 0 alone, still against both samples' candidates: (½ log 112.5 + ½ log 98) / 2 = ¼ log 11025
    assert state_change_loss(*args, rows=slice(0, 1)).item() == pytest.approx(log(11025) / 4, abs=1e-6)
    # sample 1: (log 11.25 + log 11.75) / 2 = 2.44211068
    assert state_change_loss(*args, rows=slice(1, 2)).item() == pytest.approx(
        (log(11.25) + log(11.75)) / 2, abs=1e-6
    )
    # and sample 0 against its own candidates only (N = 1) differs: D0 = 8, D3 = 7
    alone = state_change_loss(STATE_FRAMES[:1], STATE_BEFORE[:1], STATE_AFTER[:1], STATE_CFS[:1], TAU)
    assert alone.item() == pytest.approx((0.5 * log(32) + 0.5 * log(24.5)) / 2, abs=1e-6)


def test_state_change_loss_rejects_a_missing_counterfactual_set():
    with pytest.raises(ValueError, match="counterfactual"):
        state_change_loss(STATE_FRAMES, STATE_BEFORE, STATE_AFTER, None, TAU)
    # the variants without counterfactuals do not need them
    assert state_change_loss(STATE_FRAMES, STATE_BEFORE, STATE_AFTER, None, TAU, variant="before").item() == (
        pytest.approx(STATE_BEFORE_ONLY, abs=1e-6)
    )
    with pytest.raises(ValueError, match="unknown variant"):
        state_change_loss(STATE_FRAMES, STATE_BEFORE, STATE_AFTER, STATE_CFS, TAU, variant="after")


# Summary case: B = 2 videos, K = 2 counterfactual summaries each (k = 0 "order", k = 1 "key").
#   video V0 = E, V1 = N;  summary S0 = E, S1 = N;  CF_0 = [N, W], CF_1 = [E, S]
#   2^cos(V, S) = [[2, 1], [1, 2]]
#   2^cos(V, CF): V0 -> [1, 1/2, 2, 1] (sum 4.5), V1 -> [2, 1, 1, 1/2] (sum 4.5)
#   plain InfoNCE:  -log(2/3) = log 1.5 for both videos                               = 0.40546511
#   all 4 CFs:      -log(2/(3 + 4.5)) = log 3.75                                       = 1.32175584
#   order only (k = 0: N, E):  V0 1 + 2 = 3, V1 2 + 1 = 3  ->  -log(2/6) = log 3       = 1.09861229
#   key only (k = 1: W, S):    V0 1/2 + 1, V1 1 + 1/2     ->  -log(2/4.5) = log 2.25  = 0.81093022
SUMMARY_VIDEO, SUMMARY_TEXT = vec(E, N), vec(E, N)
SUMMARY_CFS = vec([N, W], [E, S])
DIAGONAL = torch.eye(2, dtype=torch.bool)


def test_summary_loss_counterfactual_summaries_are_negatives_for_every_video():
    assert summary_loss(SUMMARY_VIDEO, SUMMARY_TEXT, None, DIAGONAL, TAU).item() == pytest.approx(
        log(1.5), abs=1e-6
    )
    assert summary_loss(SUMMARY_VIDEO, SUMMARY_TEXT, SUMMARY_CFS, DIAGONAL, TAU).item() == pytest.approx(
        log(3.75), abs=1e-6
    )
    # both summaries positive for both videos: -log(3 / 7.5) = log 2.5
    everything = torch.ones(2, 2, dtype=torch.bool)
    assert summary_loss(SUMMARY_VIDEO, SUMMARY_TEXT, SUMMARY_CFS, everything, TAU).item() == pytest.approx(
        log(2.5), abs=1e-6
    )
    # video 1 alone, against all four counterfactuals: log 3.75
    one = summary_loss(SUMMARY_VIDEO, SUMMARY_TEXT, SUMMARY_CFS, DIAGONAL, TAU, rows=slice(1, 2))
    assert one.item() == pytest.approx(log(3.75), abs=1e-6)


# Every ablation setting (digest §5.4) on the hand cases above: (state loss or None, parent loss).
SETTING_EXPECTED = {
    0: ("counterfactual", STATE_CF, log(3.75)),
    1: ("off", None, log(1.5)),
    2: ("before", STATE_BEFORE_ONLY, log(1.5)),
    3: ("before_after", STATE_BEFORE_AFTER, log(1.5)),
    4: ("counterfactual", STATE_CF, log(1.5)),
    5: ("counterfactual", STATE_CF, log(2.25)),
    6: ("counterfactual", STATE_CF, log(3)),
}


@pytest.mark.parametrize("k", sorted(SETTING_EXPECTED))
def test_every_setting(k):
    setting = LossSetting.from_setting(k)
    state, state_loss, parent_loss = SETTING_EXPECTED[k]
    assert setting.state == state and setting is SETTINGS[k]
    if state_loss is not None:
        got = state_change_loss(
            STATE_FRAMES, STATE_BEFORE, STATE_AFTER, STATE_CFS, TAU, variant=setting.state
        )
        assert got.item() == pytest.approx(state_loss, abs=1e-6)
    negatives = setting.parent_counterfactuals(SUMMARY_CFS)
    got = summary_loss(SUMMARY_VIDEO, SUMMARY_TEXT, negatives, DIAGONAL, TAU)
    assert got.item() == pytest.approx(parent_loss, abs=1e-6)


def test_setting_selects_counterfactual_kinds_by_half():
    cfs = torch.arange(20.0).reshape(1, 20, 1).expand(2, 20, 3)  # 10 order then 10 key, as upstream
    assert LossSetting.from_setting(0).parent_counterfactuals(cfs) is cfs
    assert torch.equal(
        LossSetting.from_setting(5).parent_counterfactuals(cfs)[0, :, 0], torch.arange(10.0, 20)
    )
    assert torch.equal(LossSetting.from_setting(6).parent_counterfactuals(cfs)[0, :, 0], torch.arange(10.0))
    assert LossSetting.from_setting(4).parent_counterfactuals(cfs) is None
    with pytest.raises(ValueError, match="order \\+ key"):
        LossSetting.from_setting(5).parent_counterfactuals(cfs[:, :3])
    with pytest.raises(ValueError, match="loss setting"):
        LossSetting.from_setting(7)
    with pytest.raises(AttributeError):  # frozen
        LossSetting.from_setting(0).state = "off"


def test_rows_split_evenly_average_to_the_whole_batch():
    # what DDP relies on: the mean over two equal halves of the anchor rows is the whole-batch loss
    g = torch.Generator().manual_seed(0)
    n, d = 6, 5
    video, text = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g).double()
    positives = tag_positive_mask(torch.rand(n, 3, generator=g) > 0.6, torch.rand(n, 4, generator=g) > 0.6)
    frames = torch.randn(n, 4, d, generator=g, dtype=torch.float64)
    before, after = torch.randn(2, n, d, generator=g, dtype=torch.float64)
    cfs = torch.randn(n, 3, d, generator=g, dtype=torch.float64)
    summary_cfs = torch.randn(n, 4, d, generator=g, dtype=torch.float64)
    losses = {
        "egonce": lambda rows: egonce(video, text, positives, symmetric=True, rows=rows),
        "state": lambda rows: state_change_loss(frames, before, after, cfs, rows=rows),
        "summary": lambda rows: summary_loss(video, text, summary_cfs, positives, rows=rows),
    }
    for name, loss in losses.items():
        halves = (loss(slice(0, 3)) + loss(slice(3, 6))) / 2
        assert halves.item() == pytest.approx(loss(slice(None)).item(), abs=1e-12), name


def test_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(1)
    n, d = 4, 3

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)

    positives = tag_positive_mask(torch.rand(n, 3, generator=g) > 0.5, torch.rand(n, 3, generator=g) > 0.5)
    rows = slice(1, 3)
    video, text = rand(n, d), rand(n, d)
    assert torch.autograd.gradcheck(lambda v, t: egonce(v, t, positives, symmetric=True), (video, text))
    assert torch.autograd.gradcheck(lambda v, t: egonce(v, t, positives, rows=rows), (video, text))
    frames, before, after, cfs = rand(n, 4, d), rand(n, d), rand(n, d), rand(n, 3, d)
    for variant in ("counterfactual", "before_after", "before"):
        assert torch.autograd.gradcheck(
            lambda f, b, a, c, variant=variant: state_change_loss(f, b, a, c, variant=variant, rows=rows),
            (frames, before, after, cfs),
        )
    summary, summary_cfs = rand(n, d), rand(n, 5, d)
    assert torch.autograd.gradcheck(
        lambda v, s, c: summary_loss(v, s, c, positives, rows=rows), (video, summary, summary_cfs)
    )
    assert torch.autograd.gradcheck(lambda v, s: summary_loss(v, s, None, positives), (video, summary))


def test_similarities_stay_in_float32_under_bf16_autocast():
    # at τ = 0.05 a bf16 cosine (±4e-3) would move logits by ~0.08; the losses compute cosines in float32
    g = torch.Generator().manual_seed(2)
    video, text = torch.randn(2, 6, 16, generator=g)
    positives = torch.eye(6, dtype=torch.bool)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = egonce(video.bfloat16(), text, positives)
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(egonce(video.bfloat16().float(), text, positives).item(), abs=1e-6)
