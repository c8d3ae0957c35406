"""Feature stage through Snakemake on the tiny demo world: every store is built, readable and complete; a rerun
does nothing; an existing RULSTM data.mdb named in config replaces extraction."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import yaml

from egoflow.features.hdf5_store import TextFeatureStore
from egoflow.features.lmdb_store import open_lmdb_readonly, read_meta
from egoflow.features.text_sets import collect_texts
from egoflow.features.window import FeatureWindowReader
from tests.workflow_run import ROOT, TINY, copy_workflow, planned_jobs, snakemake, write_overlay


@pytest.mark.slow
def test_features_stage_builds_every_store(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    if not (work / "envs").exists():  # rules name their conda env files; Snakemake records them as metadata
        shutil.copytree(ROOT / "envs", work / "envs")
    snakemake(work, "features", *TINY)
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    demo = work / "resources/demo" / yaml.safe_load((work / "config/tiny.yaml").read_text())["demo"]["size"]
    annotations = {k: demo / v.removeprefix("{demo}/") for k, v in config["annotations"].items()}

    inputs = {
        "clips": {"egoclip": annotations["egoclip"], "states": work / "results/text/states.json"},
        "summaries": {
            "egosummary": annotations["egosummary"],
            "summary_cf": work / "results/text/summary_cf.json",
        },
        "epic": {
            "verb_classes": annotations["epic_verb_classes"],
            "noun_classes": annotations["epic_noun_classes"],
            "sentences": annotations["epic_retrieval_sentences"],
        },
        "charades": {"classes": annotations["charades_classes"]},
    }
    for name, files in inputs.items():
        texts = collect_texts(name, files)
        with TextFeatureStore(work / f"results/features/text/{name}.h5") as store:
            assert len(store) == len(set(texts)) > 0
            assert store.get(texts).shape == (len(texts), 384)  # all-MiniLM-L6-v2 width

    with h5py.File(work / "results/features/language_prototypes/epic.h5") as f:
        a = len(f["action_id"])
        assert f["encodings"].shape == (a, 384) and f["similarity"].shape == (a, a)
    with h5py.File(work / "results/features/visual_prototypes/epic.h5") as f:
        assert f["prototypes"].shape == (a, 32) and np.isfinite(f["prototypes"][()]).all()
        assert (f["count"][()] > 0).any()  # some classes have visual embeddings in the tiny world

    store = work / "results/features/visual/lmdb"
    meta = read_meta(store)
    assert meta["count"] == sum(meta["videos"].values()) > 0
    env = open_lmdb_readonly(store)
    with env.begin() as txn:
        assert txn.stat()["entries"] == meta["count"]
        key, value = next(iter(txn.cursor()))
    env.close()
    assert key.decode().split("_frame_")[0] in meta["videos"] and len(value) == 4 * 32
    video = next(iter(meta["videos"]))
    with FeatureWindowReader(store) as reader:
        window = reader.read(video, end=2.0, observed=2.0, fps=2.0)
    assert window.shape == (4, 32) and window.any(axis=1).all()  # 5 fps extraction: every frame found
    assert (work / f"logs/features/visual_features_video/{video}.log").read_text().strip()

    assert "Nothing to be done" in snakemake(work, "features", *TINY).stderr

    # A user's RULSTM/AVT store named in config is used as-is: no extraction jobs are planned.
    shutil.copytree(store, work / "rulstm_rgb")
    overlay = write_overlay(work, {"features": {"visual": {"existing_lmdb": "rulstm_rgb"}}})
    jobs = planned_jobs(snakemake(work, "features", "-n", "--forceall", *TINY, overlay))
    assert (
        "visual_features_video" not in jobs
        and "merge_visual_features" not in jobs
        and jobs["visual_prototypes"] == 1
    )
