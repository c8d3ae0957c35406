"""The anticipation stage's glue: train / evaluate an S-GEAR or LTA run from its resolved settings, late fusion.

Every training goes through `egoflow.train.train` (checkpoints in <run_dir>/checkpoints, resume, SIGUSR1).
Settings of a run = `anticipation.<system>.defaults` with `anticipation.<system>.runs.<run>` merged over it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from egoflow.annotations.ego4d_lta import read_lta_taxonomy
from egoflow.anticipation.data import (
    AnticipationFeatures,
    LtaFeatures,
    LtaWindowConfig,
    WindowConfig,
    action_table,
)
from egoflow.anticipation.evaluation import (
    ek100_challenge_json,
    ek100_metrics,
    frequency_prior,
    late_fusion,
    lta_metrics,
    lta_outputs,
    most_frequent_sequence,
    per_sample_ed,
    read_id_list,
    validate_lta_outputs,
    write_json,
)
from egoflow.atomic import atomic_path
from egoflow.checkpoint import load_checkpoint
from egoflow.evaluate import write_result
from egoflow.features.language_prototypes import read_language_prototypes
from egoflow.losses import sgear_losses
from egoflow.metrics.anticipation import marginalize_action_scores
from egoflow.models.lta import LtaConfig, LtaModel
from egoflow.models.sgear import SGear, SGearConfig
from egoflow.pretrain import config_hash, from_dict, output_settings
from egoflow.train import Objective, TrainConfig, publish_run, train

SGEAR_LOSSES = ("cls", "past", "feat", "sem", "reg")


def _train_config(settings: dict) -> tuple[TrainConfig, int]:
    values = dict(settings.get("train") or {})
    batch_size = int(values.pop("batch_size", 16))
    return from_dict(TrainConfig, values), batch_size


def _run_config(run: str, settings: dict) -> dict:
    return {"run": run, "settings": settings, "config_hash": config_hash(output_settings(settings))}


# --- S-GEAR ---------------------------------------------------------------------------------------------


class SGearObjective(torch.nn.Module):
    """model.forward(batch, objective) -> the loss terms (weights come from the Objective)."""

    def __init__(self, model: SGear, language: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("language", language)

    def forward(self, batch: dict, objective: str = "anticipation") -> dict[str, torch.Tensor]:
        outputs = self.model(batch["x"])
        return sgear_losses(outputs, batch["target"], batch["past"], self.language)


def build_sgear(settings: dict, input_dim: int, visual_prototypes: str | Path, num_frames: int) -> SGear:
    import h5py

    with h5py.File(visual_prototypes, "r") as f:
        prototypes = torch.from_numpy(f["prototypes"][()]).float()  # [A, Din]
    model_cfg = from_dict(
        SGearConfig,
        {**(settings.get("model") or {}), "input_dim": input_dim, "num_frames": num_frames}
        | {"num_actions": prototypes.shape[0]},
    )
    return SGear(model_cfg, prototypes)


def sgear_datasets(inputs: dict, settings: dict, split: str) -> tuple[AnticipationFeatures, dict]:
    window = from_dict(WindowConfig, settings.get("window"))
    actions = action_table(inputs["language"])
    data = AnticipationFeatures(inputs[split], [inputs["store"]], actions, window)
    return data, actions


def train_sgear(
    run: str, settings: dict, inputs: dict, run_dir: str | Path, outputs: dict, threads=0
) -> Path:
    """inputs: store, language, visual, train (EPIC csv); outputs: model, config, log."""
    run_dir = Path(run_dir)
    if threads:
        torch.set_num_threads(int(threads))  # a fixed count keeps CPU reductions, so resumed runs, bit-exact
    cfg, batch_size = _train_config(settings)
    data, _ = sgear_datasets(inputs, settings, "train")
    print(
        f"S-GEAR {run}: {len(data)} training samples ({data.dropped} dropped: no preceding video)",
        file=sys.stderr,
    )
    torch.manual_seed(cfg.seed)
    model = build_sgear(settings, data.dim, inputs["visual"], data.x.shape[1])
    language = torch.from_numpy(read_language_prototypes(inputs["language"])["similarity"]).float()
    weights = {name: float((settings.get("loss") or {}).get(name, 0.0)) for name in SGEAR_LOSSES}
    objective = Objective("anticipation", data, batch_size, weights=weights)
    run_config = _run_config(run, settings)
    train(
        SGearObjective(model, language),
        [objective],
        cfg,
        run_dir,
        outputs["model"],
        run_config=run_config,
        log_path=run_dir / "checkpoints" / "log.csv",
    )
    publish_run(run_dir, outputs["model"], outputs["config"], outputs["log"], run_config)
    return Path(outputs["model"])


@torch.no_grad()
def sgear_scores(model: SGear, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    model.eval()
    out = [model(torch.from_numpy(x[i : i + batch_size]))["logits"] for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.cfg.num_actions), np.float32)


def evaluate_sgear(run: str, inputs: dict, lists: dict, outputs: dict) -> dict:
    """inputs: model, store, language, visual, train, validation; lists: unseen / tail_verbs / tail_nouns paths
    ("" = none); outputs: scores (npz), result (JSON row), challenge (EK100 JSON)."""
    state = load_checkpoint(inputs["model"], map_location="cpu")
    run_config = state.get("config") or {}
    settings = run_config["settings"]
    data, _ = sgear_datasets(inputs, settings, "validation")
    model = build_sgear(settings, data.dim, inputs["visual"], data.x.shape[1])
    objective_state = {
        k.removeprefix("model."): v for k, v in state["model"].items() if k.startswith("model.")
    }
    model.load_state_dict(objective_state)
    scores = sgear_scores(model, data.x)
    language = read_language_prototypes(inputs["language"])
    action_verb, action_noun = language["verb_class"], language["noun_class"]
    meta = {c: np.asarray(data.samples[c], dtype=str) for c in ("narration_id", "participant_id")}
    meta |= {c: data.samples[c].to_numpy(np.int64) for c in ("verb_class", "noun_class", "action")}
    train_data, _ = sgear_datasets(inputs, settings, "train")
    prior = np.tile(frequency_prior(train_data.target, scores.shape[1]), (len(scores), 1))
    split_lists = {
        "unseen": read_id_list(lists.get("unseen"), "participant_id", str),
        "tail_verbs": read_id_list(lists.get("tail_verbs"), "verb"),
        "tail_nouns": read_id_list(lists.get("tail_nouns"), "noun"),
    }
    result = ek100_metrics(scores, meta, action_verb, action_noun, **split_lists)
    result["baseline"] = ek100_metrics(prior, meta, action_verb, action_noun, **split_lists)
    result["dropped"] = data.dropped
    result["config_hash"] = run_config.get("config_hash", "")
    verb, noun = marginalize_action_scores(scores, action_verb, action_noun)
    with atomic_path(outputs["scores"]) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, scores_action=scores, scores_verb=verb, scores_noun=noun, prior=prior, **meta)
    write_json(
        outputs["challenge"],
        ek100_challenge_json(meta["narration_id"], scores, verb, noun, action_verb, action_noun),
    )
    write_result(
        outputs["result"],
        system="sgear",
        run=run,
        task="action_anticipation",
        split="validation",
        checkpoint=inputs["model"],
        result=result,
    )
    return result


def fuse_sgear(
    runs: list[str], weights: list[float], scores: list[str], inputs: dict, lists: dict, out: str
) -> dict:
    """Late fusion of saved validation scores (weights per run), evaluated as one run."""
    loaded = [dict(np.load(path, allow_pickle=False)) for path in scores]
    spaces = [
        {"uid": s["narration_id"], **{k: s[f"scores_{k}"] for k in ("action", "verb", "noun")}}
        for s in loaded
    ]
    fused = late_fusion(spaces, weights)
    meta_of = {u: i for i, u in enumerate(loaded[-1]["narration_id"])}
    rows = [meta_of[u] for u in fused["uid"]]
    meta = {c: loaded[-1][c][rows] for c in ("participant_id", "verb_class", "noun_class", "action")}
    language = read_language_prototypes(inputs["language"])
    split_lists = {
        "unseen": read_id_list(lists.get("unseen"), "participant_id", str),
        "tail_verbs": read_id_list(lists.get("tail_verbs"), "verb"),
        "tail_nouns": read_id_list(lists.get("tail_nouns"), "noun"),
    }
    result = ek100_metrics(
        fused["action"], meta, language["verb_class"], language["noun_class"], **split_lists
    )
    result["fused"] = {"runs": runs, "weights": weights}
    write_result(
        out,
        system="sgear",
        run="fusion",
        task="action_anticipation",
        split="validation",
        checkpoint="",
        result=result,
    )
    return result


# --- Ego4D LTA ------------------------------------------------------------------------------------------


class LtaObjective(torch.nn.Module):
    """Sum over the Z positions and both heads of the cross-entropy (batch mean), as upstream."""

    def __init__(self, model: LtaModel):
        super().__init__()
        self.model = model

    def forward(self, batch: dict, objective: str = "lta") -> dict[str, torch.Tensor]:
        verb, noun = self.model(batch["x"])  # [B, Z, V], [B, Z, Nn]
        ce = torch.nn.functional.cross_entropy
        z = verb.shape[1]
        verb_loss = sum(ce(verb[:, i], batch["verbs"][:, i], ignore_index=-1) for i in range(z))
        noun_loss = sum(ce(noun[:, i], batch["nouns"][:, i], ignore_index=-1) for i in range(z))
        return {"verb": verb_loss, "noun": noun_loss}


def build_lta(settings: dict, input_dim: int, taxonomy) -> LtaModel:
    window = from_dict(LtaWindowConfig, settings.get("window"))
    values = {**(settings.get("model") or {}), "input_dim": input_dim, "num_input": window.num_input}
    values |= {
        "num_future": window.num_future,
        "num_verbs": len(taxonomy.verbs),
        "num_nouns": len(taxonomy.nouns),
    }
    return LtaModel(from_dict(LtaConfig, values))


def train_lta(run: str, settings: dict, inputs: dict, run_dir: str | Path, outputs: dict, threads=0) -> Path:
    """inputs: store, train (fho_lta_train.json), taxonomy; outputs: model, config, log."""
    run_dir = Path(run_dir)
    if threads:
        torch.set_num_threads(int(threads))
    cfg, batch_size = _train_config(settings)
    window = from_dict(LtaWindowConfig, settings.get("window"))
    data = LtaFeatures(inputs["train"], [inputs["store"]], window)
    if not len(data):
        raise ValueError(
            f"{inputs['train']}: no clip holds N + Z = {window.num_input + window.num_future} actions"
        )
    print(f"LTA {run}: {len(data)} training windows", file=sys.stderr)
    torch.manual_seed(cfg.seed)
    model = build_lta(settings, data.dim, read_lta_taxonomy(inputs["taxonomy"]))
    model.set_input_stats(torch.from_numpy(data.x))
    run_config = _run_config(run, settings)
    train(
        LtaObjective(model),
        [Objective("lta", data, batch_size)],
        cfg,
        run_dir,
        outputs["model"],
        run_config=run_config,
        log_path=run_dir / "checkpoints" / "log.csv",
    )
    publish_run(run_dir, outputs["model"], outputs["config"], outputs["log"], run_config)
    return Path(outputs["model"])


def evaluate_lta(run: str, inputs: dict, outputs: dict) -> dict:
    """inputs: model, store, train, validation, test (unannotated), taxonomy; outputs: result, outputs (json)."""
    state = load_checkpoint(inputs["model"], map_location="cpu")
    run_config = state.get("config") or {}
    settings = run_config["settings"]
    window = from_dict(LtaWindowConfig, settings.get("window"))
    k = int(settings.get("num_sequences", 5))
    taxonomy = read_lta_taxonomy(inputs["taxonomy"])
    val = LtaFeatures(inputs["validation"], [inputs["store"]], window)
    model = build_lta(settings, val.dim, taxonomy)
    model.load_state_dict({n.removeprefix("model."): v for n, v in state["model"].items()})
    model.eval()
    generator = torch.Generator().manual_seed(int((settings.get("train") or {}).get("seed", 0)))
    verbs, nouns = model.generate(torch.from_numpy(val.x), k, generator)
    verbs, nouns = verbs.numpy(), nouns.numpy()
    num_nouns = len(taxonomy.nouns)
    result = {
        "metrics": lta_metrics(verbs, nouns, val.verbs, val.nouns, num_nouns),
        "n": {"windows": len(val)},
    }
    train_data = LtaFeatures(inputs["train"], [inputs["store"]], window)
    bv, bn = most_frequent_sequence(train_data.verbs, train_data.nouns)
    base_v = np.tile(bv, (len(val), k, 1))
    base_n = np.tile(bn, (len(val), k, 1))
    result["baseline"] = {"metrics": lta_metrics(base_v, base_n, val.verbs, val.nouns, num_nouns)}
    z = window.num_future
    from egoflow.anticipation.evaluation import bootstrap_interval
    from egoflow.metrics.anticipation import action_tokens

    # 95 % bootstrap intervals over the windows of each head's ED@Z, and of baseline - model (paired)
    heads = {
        "verb": (verbs, base_v, val.verbs),
        "noun": (nouns, base_n, val.nouns),
        "action": (
            action_tokens(verbs, nouns, num_nouns),
            action_tokens(base_v, base_n, num_nouns),
            action_tokens(val.verbs, val.nouns, num_nouns),
        ),
    }
    result["ci95"], result["baseline"]["ci95"], result["paired_difference_ci95"] = {}, {}, {}
    for head, (pred, base, gt) in heads.items():
        per, per_base = per_sample_ed(pred, gt), per_sample_ed(base, gt)
        name = f"{head}/ED@{z}"
        result["ci95"][name] = bootstrap_interval(np.mean, [per])
        result["baseline"]["ci95"][name] = bootstrap_interval(np.mean, [per_base])
        result["paired_difference_ci95"][name] = bootstrap_interval(np.mean, [per_base - per])
    result["config_hash"] = run_config.get("config_hash", "")
    test = LtaFeatures(inputs["test"], [inputs["store"]], window, labelled=False)
    tv, tn = model.generate(torch.from_numpy(test.x), k, generator)
    submission = lta_outputs(test.keys, tv.numpy(), tn.numpy())
    validate_lta_outputs(submission, test.keys, k, z)
    write_json(outputs["outputs"], submission)
    write_result(
        outputs["result"],
        system="lta",
        run=run,
        task="long_term_anticipation",
        split="validation",
        checkpoint=inputs["model"],
        result=result,
    )
    return result
