"""Evaluation protocols of anticipation: EK100 overall / unseen / tail class-mean recall@5 and top-k accuracy,
late fusion of saved scores, the EK100 challenge JSON; Ego4D LTA ED@Z and the challenge outputs.json.

EK100 splits (sgear-anticipation.md §5.2, official lists EPIC_100_unseen_participant_ids_validation.csv and
EPIC_100_tail_{verbs,nouns}.csv): unseen = samples of the listed participants; tail verb / noun = samples whose
verb / noun class is a tail class; tail action = samples whose verb or noun is a tail class. Verb and noun
scores are the marginals of the action softmax; action scores stay raw logits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from egoflow.atomic import write_text
from egoflow.metrics.anticipation import (
    action_tokens,
    class_mean_recall,
    lta_edit_distance,
    marginalize_action_scores,
    topk_accuracy,
)
from egoflow.tables import read_table


def read_id_list(path: str | Path | None, column: str, kind=int) -> set | None:
    """One-column CSV (with header) -> set, or None without a file."""
    if not path:
        return None
    return set(read_table(path, {column: kind})[column].tolist())


def bootstrap_interval(metric, arrays: Sequence[np.ndarray], n: int = 200, seed: int = 0) -> list[float]:
    """95 % percentile bootstrap interval of metric(*arrays) resampling the items (rows)."""
    rng = np.random.default_rng(seed)
    m = len(arrays[0])
    if m == 0:
        return [float("nan"), float("nan")]
    values = []
    for _ in range(n):
        pick = rng.integers(0, m, m)
        values.append(metric(*[a[pick] for a in arrays]))
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def ek100_metrics(
    action_scores: np.ndarray,
    scores_meta: dict,
    action_verb: np.ndarray,
    action_noun: np.ndarray,
    *,
    unseen: set | None = None,
    tail_verbs: set | None = None,
    tail_nouns: set | None = None,
    num_verbs: int | None = None,
    num_nouns: int | None = None,
    bootstrap: int = 200,
) -> dict:
    """{"metrics": {name: value x100}, "n": {split: samples}, "ci95": {...}} for verb / noun / action."""
    labels = {
        "action": np.asarray(scores_meta["action"]),
        "verb": np.asarray(scores_meta["verb_class"]),
        "noun": np.asarray(scores_meta["noun_class"]),
    }
    nv = num_verbs or int(max(action_verb.max(), labels["verb"].max())) + 1
    nn_ = num_nouns or int(max(action_noun.max(), labels["noun"].max())) + 1
    verb, noun = marginalize_action_scores(action_scores, action_verb, action_noun, nv, nn_)
    spaces = {"action": action_scores, "verb": verb, "noun": noun}
    labelled = labels["action"] >= 0  # actions outside the table count for verb / noun only
    masks = {"overall": np.ones(len(labels["action"]), bool)}
    if unseen is not None:
        masks["unseen"] = np.isin(np.asarray(scores_meta["participant_id"]), list(unseen))
    tail = {}
    if tail_verbs is not None and tail_nouns is not None:
        tail["verb"] = np.isin(labels["verb"], list(tail_verbs))
        tail["noun"] = np.isin(labels["noun"], list(tail_nouns))
        tail["action"] = tail["verb"] | tail["noun"]
    out = {"metrics": {}, "n": {}, "ci95": {}}
    for space, scores in spaces.items():
        y = labels[space]
        base = labelled if space == "action" else np.ones(len(y), bool)
        splits = dict(masks)
        if tail:
            splits["tail"] = tail[space]
        for split, mask in splits.items():
            m = mask & base
            out["metrics"][f"{split}/{space}/mt5r"] = 100 * class_mean_recall(scores[m], y[m], 5)
            out["n"][f"{split}/{space}"] = int(m.sum())
        m = base
        out["metrics"][f"overall/{space}/top1"] = 100 * topk_accuracy(scores[m], y[m], 1)
        out["metrics"][f"overall/{space}/top5"] = 100 * topk_accuracy(scores[m], y[m], 5)
        if bootstrap:
            low, high = bootstrap_interval(
                lambda s, t: class_mean_recall(s, t, 5), [scores[m], y[m]], bootstrap
            )
            out["ci95"][f"overall/{space}/mt5r"] = [100 * low, 100 * high]
    return out


def frequency_prior(train_actions: np.ndarray, num_actions: int) -> np.ndarray:
    """[A] log(1 + count) of each action in training: the same ranking for every sample (the baseline)."""
    counts = np.bincount(train_actions[train_actions >= 0], minlength=num_actions)
    return np.log1p(counts.astype(np.float64))


def late_fusion(runs: Sequence[dict], weights: Sequence[float]) -> dict:
    """Fuse saved scores: each run {"uid": [N], "action": [N, A] logits, "verb": [N, V], "noun": [N, Nn]
    marginals}; fused[space][uid] = sum_r w_r * score_r[uid] over the runs holding uid (union of uids).
    Returns the same layout in the last run's uid order, then the uids only the others have."""
    if len(runs) != len(weights):
        raise ValueError(f"{len(runs)} runs but {len(weights)} weights")
    order = list(runs[-1]["uid"])
    seen = set(order)
    for run in runs[:-1]:
        order += [u for u in run["uid"] if u not in seen and not seen.add(u)]
    index = {u: i for i, u in enumerate(order)}
    fused = {"uid": np.array(order)}
    for space in ("action", "verb", "noun"):
        width = runs[0][space].shape[1]
        total = np.zeros((len(order), width))
        for run, w in zip(runs, weights, strict=True):
            rows = [index[u] for u in run["uid"]]
            total[rows] += w * np.asarray(run[space], dtype=np.float64)
        fused[space] = total
    return fused


def ek100_challenge_json(
    uids: Sequence[str],
    action_scores: np.ndarray,
    verb: np.ndarray,
    noun: np.ndarray,
    action_verb: np.ndarray,
    action_noun: np.ndarray,
    top: int = 100,
) -> dict:
    """EPIC-KITCHENS-100 action anticipation submission (RULSTM `predictions_to_json`, version 0.2): all verb
    and noun scores, the `top` best actions keyed "verb,noun"."""
    results = {}
    for i, uid in enumerate(uids):
        best = np.argsort(-action_scores[i], kind="stable")[:top]
        results[str(uid)] = {
            "verb": {str(v): float(s) for v, s in enumerate(verb[i])},
            "noun": {str(n): float(s) for n, s in enumerate(noun[i])},
            "action": {f"{action_verb[a]},{action_noun[a]}": float(action_scores[i, a]) for a in best},
        }
    return {
        "version": "0.2",
        "challenge": "action_anticipation",
        "sls_pt": 2,
        "sls_tl": 3,
        "sls_td": 3,
        "results": results,
    }


# --- Ego4D LTA ------------------------------------------------------------------------------------------


def lta_metrics(
    verbs: np.ndarray, nouns: np.ndarray, gt_verbs: np.ndarray, gt_nouns: np.ndarray, num_nouns: int
):
    """ED@Z for verb, noun and action (verb * num_nouns + noun); preds [N, K, Z], labels [N, Z]."""
    z = gt_verbs.shape[1]
    return {
        f"verb/ED@{z}": lta_edit_distance(verbs, gt_verbs),
        f"noun/ED@{z}": lta_edit_distance(nouns, gt_nouns),
        f"action/ED@{z}": lta_edit_distance(
            action_tokens(verbs, nouns, num_nouns), action_tokens(gt_verbs, gt_nouns, num_nouns)
        ),
    }


def per_sample_ed(preds: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """[N] min over K edit distance / Z of each sample (for intervals)."""
    return np.array([lta_edit_distance(p[None], g[None]) for p, g in zip(preds, labels, strict=True)])


def most_frequent_sequence(verbs: np.ndarray, nouns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (verb, noun) future sequence [Z] seen most often in training (ties: the first seen)."""
    counts: dict[tuple, int] = {}
    for v, n in zip(verbs.tolist(), nouns.tolist(), strict=True):
        key = (tuple(v), tuple(n))
        counts[key] = counts.get(key, 0) + 1
    (v, n), _ = max(counts.items(), key=lambda item: item[1])
    return np.array(v), np.array(n)


def lta_outputs(keys: Sequence[str], verbs: np.ndarray, nouns: np.ndarray) -> dict:
    """Challenge outputs.json: {key: {"verb": K lists of Z ints, "noun": K lists of Z ints}}."""
    return {
        str(k): {"verb": [[int(x) for x in s] for s in v], "noun": [[int(x) for x in s] for s in n]}
        for k, v, n in zip(keys, verbs.tolist(), nouns.tolist(), strict=True)
    }


def validate_lta_outputs(data: dict, keys: Sequence[str] | None = None, k: int = 5, z: int = 20) -> None:
    """Raise ValueError unless `data` is the challenge layout: every key, K lists of Z ints per head."""
    if not isinstance(data, dict):
        raise ValueError("outputs.json must be a JSON object")
    if keys is not None and set(data) != set(keys):
        missing, extra = set(keys) - set(data), set(data) - set(keys)
        raise ValueError(
            f"keys differ: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra"
        )
    for key, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != {"verb", "noun"}:
            raise ValueError(f"{key}: expected exactly the keys verb and noun")
        for head, seqs in entry.items():
            ok = isinstance(seqs, list) and len(seqs) == k
            ok = ok and all(isinstance(s, list) and len(s) == z for s in seqs)
            ok = ok and all(isinstance(x, int) and not isinstance(x, bool) for s in seqs for x in s)
            if not ok:
                raise ValueError(f"{key}/{head}: expected {k} lists of {z} ints")


def write_json(path: str | Path, data) -> None:
    write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
