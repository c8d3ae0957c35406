"""segmentation_scores against hand-computed MS-TCN cases (Acc, Edit, F1@{10,25,50})."""

from __future__ import annotations

import pytest

from egoflow.metrics import segmentation_scores
from egoflow.metrics.segmentation import edit_score, f_counts, segments


def test_segments_are_runs_with_exclusive_ends_and_background_removed():
    # MS-TCN: ends exclusive, but the video's final run ends at its last frame (T - 1 = 5), not at T = 6
    labels, starts, ends = segments(list("bbaaab"), bg_class=())
    assert labels == ["b", "a", "b"] and starts.tolist() == [0, 2, 5] and ends.tolist() == [2, 5, 5]
    _, _, ends = segments(list("bbaaab"), bg_class=(), upstream_last_end=False)
    assert ends.tolist() == [2, 5, 6]
    labels, _, _ = segments(["background", "a", "background"], bg_class=["background"])
    assert labels == ["a"]


def test_over_segmentation():
    # gt a a a a b b b b ; pred a a b a b b b b -> pred segments a[0,2) b[2,3) a[3,4) b[4,7) (the final run
    # ends at T - 1 = 7, as in MS-TCN; gt b is [4,7) too).
    gt, pred = list("aaaabbbb"), list("aababbbb")
    # Acc: only frame 2 differs -> 7/8 = 87.5.
    # Edit: [a,b,a,b] vs [a,b]: 2 deletions, longer = 4 -> (1 - 2/4)·100 = 50.
    # F1: a[0,2)~a[0,4) IoU 2/4 = 0.5 -> TP at 0.1/0.25/0.5; b[2,3) vs b[4,7) IoU -1/5, vs a masked 0 ->
    # best is a (0 < τ) -> FP; a[3,4)~a[0,4) IoU 0.25 but a already hit -> FP; b[4,7) IoU 1 -> TP.
    # tp 2, fp 2, fn 0 -> P 0.5, R 1, F1 = 2/3 at every threshold.
    assert f_counts(pred, gt, 0.1) == (2, 2, 0)
    assert edit_score(pred, gt) == pytest.approx(50.0)
    scores = segmentation_scores([pred], [gt])
    assert scores == pytest.approx(
        {"acc": 87.5, "edit": 50.0, "f1@10": 200 / 3, "f1@25": 200 / 3, "f1@50": 200 / 3}
    )


def test_shifted_boundary():
    # gt a×5 b×5; pred a×8 b×2: a IoU 5/8 = 0.625 (TP everywhere); the final b runs are gt [5,9), pred [8,9)
    # (MS-TCN's end T - 1): IoU 1/4 = 0.25 (TP at 0.1 and at 0.25, as IoU >= τ; FP at 0.5).
    # Acc 7/10 = 70, Edit 100. At 0.5: tp 1, fp 1, fn 1 -> P = R = 0.5 -> F1 50.
    gt, pred = ["a"] * 5 + ["b"] * 5, ["a"] * 8 + ["b"] * 2
    assert segmentation_scores([pred], [gt]) == pytest.approx(
        {"acc": 70.0, "edit": 100.0, "f1@10": 100.0, "f1@25": 100.0, "f1@50": 50.0}
    )


def test_background_removed_and_counts_summed_over_the_split():
    # Video 1: gt bg bg a a, pred a a a a: segments [a[0,3)] vs [a[2,3)] (final runs end at T - 1 = 3) ->
    # Edit 100, IoU 1/3: TP at 0.1 and 0.25, FP + FN at 0.5; acc 2/4.
    # Video 2: the shifted-boundary case (acc 7/10). Acc over all 14 frames = 9/14. Edit mean (100 + 100) / 2.
    # F1@10: tp 1 + 2, fp 0, fn 0 -> 100. F1@50: tp 0 + 1, fp 1 + 1, fn 1 + 1 -> P = R = 1/3 -> F1 1/3.
    bg = "background"
    gts = [[bg, bg, "a", "a"], ["a"] * 5 + ["b"] * 5]
    preds = [["a"] * 4, ["a"] * 8 + ["b"] * 2]
    scores = segmentation_scores(preds, gts, bg_class=[bg])
    assert scores["acc"] == pytest.approx(900 / 14)
    assert scores["edit"] == pytest.approx(100.0)
    assert scores["f1@10"] == pytest.approx(100.0)
    assert scores["f1@50"] == pytest.approx(100 / 3)
    # with plain exclusive ends video 1 is a[0,4) vs a[2,4), IoU 0.5: a TP at 0.5 too -> P = R = 2/3
    plain = segmentation_scores(preds, gts, bg_class=[bg], upstream_last_end=False)
    assert plain["f1@50"] == pytest.approx(200 / 3)


def test_a_one_frame_final_segment_is_never_a_hit_as_upstream():
    # gt = pred = a a b: MS-TCN's b run is [2,2), length 0; IoU 0/0 = nan -> FP, and the gt b is a FN.
    # a[0,2) matches (TP). tp 1, fp 1, fn 1 -> F1 50 at every threshold, although the prediction is perfect.
    scores = segmentation_scores([list("aab")], [list("aab")], bg_class=[])
    assert scores == pytest.approx({"acc": 100.0, "edit": 100.0, "f1@10": 50.0, "f1@25": 50.0, "f1@50": 50.0})
    plain = segmentation_scores([list("aab")], [list("aab")], bg_class=[], upstream_last_end=False)
    assert plain["f1@50"] == 100.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="video 0"):
        segmentation_scores([[1, 2]], [[1, 2, 3]])
