"""A uv.lock read per target: the lock in tests/uv_project was made by uv against PyPI for a
Metaflow user's project (metaflow itself, an extra, a platform-only dependency, a dev group,
and six forked by python version)."""

import shutil
from pathlib import Path

import pytest

from mfci.config import DEFAULT_SYS_PACKAGES
from mfci.errors import WorkError
from mfci.resolve.uvlock import UvLockResolver
from mfci.spec import SpecInputs, StepRequirement, build_spec
from mfci.uvlock import find_project, project_python, read_lock

PROJECT = Path(__file__).parent / "uv_project"
INPUTS = SpecInputs(default_python="3.11", system_packages=DEFAULT_SYS_PACKAGES, gpu_packages={})


def copied(tmp_path) -> Path:
    shutil.copytree(PROJECT, tmp_path / "project")
    return tmp_path / "project"


def requirement(folder: Path, python: str | None = None, pypi: dict | None = None) -> StepRequirement:
    project = find_project(folder / "flows" / "deeper")   # found upwards, as Metaflow finds it
    return StepRequirement("flow.py", "F", "start", pypi=pypi or {"requests": ">=2.21.0"},
                           python=python or project_python(project), uv_project=project)


def files(folder: Path, arch: str, python: str) -> dict:
    spec = build_spec(requirement(folder, python), INPUTS, arch)
    # The datastore pin is in the lock already: nothing to resolve, so no resolver is needed.
    return {p.name: p for p in UvLockResolver(None).resolve(spec, arch)}


def test_each_target_gets_what_uv_sync_would_install_there(tmp_path):
    folder = copied(tmp_path)
    linux = files(folder, "linux-64", "3.11")
    assert linux["six"].version == "1.16.0"                       # the fork for python < 3.12
    assert "pysocks" in linux and "boto3" in linux                # an extra; Metaflow's own dependencies
    assert not {"colorama", "toolz", "metaflow", "forked"} & set(linux)   # win32 only; dev; Metaflow; the project
    assert "manylinux" in linux["charset-normalizer"].filename and "x86_64" in linux["charset-normalizer"].filename
    assert linux["six"].key.startswith("pypi/files.pythonhosted.org/")
    mac = files(folder, "osx-arm64", "3.12")
    assert mac["six"].version == "1.17.0" and "macosx" in mac["charset-normalizer"].filename
    assert mac["charset-normalizer"].sha256 != linux["charset-normalizer"].sha256


def test_the_key_is_the_locks_content_and_the_arch(tmp_path):
    folder = copied(tmp_path)
    spec = build_spec(requirement(folder), INPUTS, "linux-64")
    assert spec.kind == "uv" and spec.python == "3.11"    # the configured python, within requires-python
    assert build_spec(requirement(folder), INPUTS, "osx-arm64").spec_id != spec.spec_id
    lock = folder / "uv.lock"
    lock.write_bytes(lock.read_bytes().replace(b"\n", b"\r\n"))   # same lock, other line endings
    assert build_spec(requirement(folder), INPUTS, "linux-64").spec_id == spec.spec_id
    lock.write_text(lock.read_text().replace('version = "1.16.0"', 'version = "1.16.1"', 1))
    assert build_spec(requirement(folder), INPUTS, "linux-64").spec_id != spec.spec_id
    (folder / ".python-version").write_text("3.12\n")
    assert project_python(find_project(folder)) == "3.12"


def test_a_lock_mfci_cannot_serve_is_one_line(tmp_path):
    folder = copied(tmp_path)
    lock = folder / "uv.lock"
    lock.write_text(lock.read_text().replace('source = { registry = "https://pypi.org/simple" }',
                                             'source = { git = "https://github.com/a/six?rev=1#1" }', 1))
    with pytest.raises(WorkError, match="git source"):
        files(folder, "linux-64", "3.11")
    lock.write_text("version = 1\n[[package]\n")
    with pytest.raises(WorkError, match="cannot read the lock"):
        read_lock(str(lock))
    assert find_project(tmp_path) is None   # no pyproject.toml and uv.lock at or above it
