"""The conda environments for cluster users pin versions that pyproject.toml allows."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def project_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {Requirement(s).name.lower(): Requirement(s) for s in specs}


def env_pins(path: Path) -> dict[str, str]:
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*=?=\s*([0-9][^\s]*)", entry)
            if match:
                pins[match.group(1).lower()] = match.group(2)
    return pins


def test_there_are_environments():
    assert {p.stem for p in ENV_FILES} >= {"videos", "text", "features", "workflow"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_satisfy_pyproject(env_file):
    requirements = project_requirements()
    pins = env_pins(env_file)
    assert pins, f"{env_file.name} pins nothing"
    checked = 0
    for name, version in pins.items():
        if name in requirements:
            assert requirements[name].specifier.contains(version, prereleases=True), (
                f"{env_file.name}: {name}=={version} is outside pyproject's '{requirements[name]}'"
            )
            checked += 1
    assert checked, f"{env_file.name} shares no package with pyproject.toml"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_every_python_package(env_file):
    requirements = project_requirements()
    pins = env_pins(env_file)
    for dep in yaml.safe_load(env_file.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for entry in dep["pip"]:
                name = Requirement(entry).name.lower()
                assert name in pins, f"{env_file.name}: {entry} is not pinned"
                assert name in requirements, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
