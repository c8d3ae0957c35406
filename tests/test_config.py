"""A bad config stops the run before any job starts, and the message names the key."""

import pytest
import yaml

from tests.workflow_run import copy_workflow, snakemake, write_overlay


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("config"))


def failed_dry_run(workdir, overlay: dict) -> str:
    name = write_overlay(workdir, overlay)
    result = snakemake(workdir, "-n", "--configfile", "config/config.yaml", name, check=False)
    assert result.returncode != 0, "a bad config was accepted"
    output = result.stdout + result.stderr
    assert "Error validating config file" in output
    assert "Job stats" not in output and "localrule" not in output, "jobs were planned despite the bad config"
    return output


def test_wrong_type_names_the_key(workdir):
    output = failed_dry_run(workdir, {"demo": {"seed": "abc"}})
    assert "['demo']['seed']" in output
    assert "is not of type 'integer'" in output


def test_unknown_key_names_the_key(workdir):
    output = failed_dry_run(workdir, {"demo": {"sede": 1}})
    assert "'sede' was unexpected" in output


def test_unknown_top_level_section(workdir):
    output = failed_dry_run(workdir, {"vidoes": {"sheet": "x.tsv"}})
    assert "'vidoes' was unexpected" in output


def test_bad_enum_names_the_key(workdir):
    output = failed_dry_run(workdir, {"demo": {"size": "huge"}})
    assert "['demo']['size']" in output


def test_missing_required_key_names_the_key(tmp_path):
    workdir = copy_workflow(tmp_path)
    config_file = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    del config["demo"]["seed"]
    config_file.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "'seed' is a required property" in output


def test_a_misspelt_demo_placeholder_names_the_key(workdir):
    output = failed_dry_run(workdir, {"annotations": {"egoclip": "{dmeo}/annotations/egoclip/egoclip.csv"}})
    assert "['annotations']['egoclip']" in output


def test_unknown_text_set_names_the_key_and_the_known_sets(workdir):
    name = write_overlay(workdir, {"features": {"text": {"sets": ["clips", "nonsense"]}}})
    result = snakemake(workdir, "-n", "--configfile", "config/config.yaml", name, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Job stats" not in output
    assert (
        "features.text.sets: unknown set(s) ['nonsense']; known: clips, summaries, epic, charades" in output
    )
