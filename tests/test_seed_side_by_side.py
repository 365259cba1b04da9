"""mfci installed next to the seed (metaflow-netflixext 1.3.17, from PyPI) in one virtual
environment: `import metaflow` works, both packages keep their settings, and one of them
serves the conda/pypi environments (CONDA_MFCI_SERVES), saying so at launch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import two_step_flow

SEED = "metaflow-netflixext==1.3.17"


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> Path:
    """A fresh venv holding the seed (pip install) and this checkout's mfci and Metaflow
    (the test environment's packages, put on its path)."""
    venv = tmp_path_factory.mktemp("side-by-side") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "zz_mfci_checkout.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", SEED], check=True, capture_output=True,
                   env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    return python


def run(python: Path, *args: str, cwd: Path | None = None, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, **env})


def test_import_metaflow_keeps_both_packages_settings(both):
    shown = run(both, "-c", "import json, metaflow, metaflow.metaflow_config as c; print(json.dumps({n: getattr(c, n, "
                "'<missing>') for n in ('CONDA_DEPENDENCY_RESOLVER', 'CONDA_S3ROOT', 'CONDA_MAGIC_FILE_V2', "
                "'CONDA_USE_REMOTE_LATEST', 'CONDA_MFCI_SERVES', 'CONDA_MFCI_STRICT')}), "
                "metaflow.metaflow_version.get_version())",
                METAFLOW_DATASTORE_SYSROOT_S3="s3://team/metaflow")
    assert shown.returncode == 0, shown.stderr
    values, version = shown.stdout.rsplit(" ", 1)
    values = json.loads(values)
    # The seed's own defaults, which its code relies on, are untouched by mfci.
    assert values["CONDA_DEPENDENCY_RESOLVER"] == "mamba" and values["CONDA_USE_REMOTE_LATEST"] == ":none:"
    assert values["CONDA_S3ROOT"] == "s3://team/metaflow/conda_env" and values["CONDA_MAGIC_FILE_V2"] == "conda_v2.cnd"
    assert "CONDA_MFCI_SERVES" in values and values["CONDA_MFCI_STRICT"] != "<missing>"  # mfci's declared
    assert "netflix-ext" in version and "mfci" in version
    # mfci reads its own meaning of the seed's names, and keeps its store apart from the seed's.
    config = run(both, "-m", "mfci", "config", METAFLOW_DATASTORE_SYSROOT_S3="s3://team/metaflow",
                 METAFLOW_DEFAULT_DATASTORE="s3")
    assert "'rattler'" in config.stdout and "store root (no --root): s3://team/metaflow/mfci" in config.stdout, \
        config.stdout


def test_mfci_serves_by_default_and_says_so(both, tmp_path):
    flow = two_step_flow(tmp_path / "flows", "both_flow", "BothFlow", base='@pypi_base(packages={"six": "1.16.0"})',
                         start='@pypi(packages={"six": "1.15.0"})')
    warmed = run(both, "-m", "mfci", "warm", "flows", "--arch", "linux-64", cwd=tmp_path)
    assert warmed.returncode == 0, warmed.stderr
    done = run(both, flow.name, "--environment=pypi", "run", cwd=flow.parent, METAFLOW_CONDA_MFCI_STRICT="1")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "metaflow-netflixext is installed too: mfci serves" in output
    assert "[mfci] end: environment" in output and "Bootstrapping Conda environment" not in output


def test_netflixext_serves_when_chosen(both, tmp_path):
    flow = two_step_flow(tmp_path / "flows", "seed_flow", "SeedFlow", start='@conda(libraries={"six": "1.16.0"})')
    done = run(both, flow.name, "--environment=conda", "run", cwd=flow.parent, METAFLOW_CONDA_MFCI_SERVES="netflixext")
    output = done.stdout + done.stderr
    assert "metaflow-netflixext is installed too: netflixext serves" in output
    assert "Bootstrapping Conda environment" in output and "[mfci] start" not in output
    # The seed's own path, unchanged: it needs a mamba binary, and this machine has none.
    assert "No mamba binary found" in output and done.returncode != 0
    # mfci's commands still work beside it (discovery asks mfci's decorators).
    warmed = run(both, "-m", "mfci", "check", "flows", "--arch", "linux-64", cwd=tmp_path,
                 METAFLOW_CONDA_MFCI_SERVES="netflixext")
    assert "missing: flows/seed_flow.py step start" in warmed.stderr, warmed.stderr


def test_a_root_shared_with_the_seed(tmp_path, store_root):
    """CONDA_LOCALROOT (as CONDA_S3ROOT in the seed's documentation) is the seed's root: its
    objects stay there, mfci's go under mfci/, and verify leaves the seed's alone."""
    from conftest import mfci, mfci_json

    shared = store_root.parent
    flow = two_step_flow(tmp_path / "flows", "shared_flow", "SharedFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    start = next(e for e in out["envs"] if e["step"] == "start")
    record = json.loads((store_root / "envs" / start["spec_id"] / "linux-64" / f"{start['env_id']}.json").read_text())
    # The seed's objects at the root, where it writes them: an alias, an environment, and a
    # package folder named like each wheel (where mfci, at the root, would put a file).
    seed_alias = shared / "envs" / "aliases" / "generic" / "team" / "env" / "latest"
    seed_alias.parent.mkdir(parents=True)
    seed_alias.write_text(json.dumps(["a" * 40, "b" * 40]))
    seed_env = shared / "envs" / "linux-64" / ("a" * 40) / ("b" * 40) / "env"
    seed_env.parent.mkdir(parents=True)
    seed_env.write_text(json.dumps({"deps": [], "packages": []}))
    for package in record["packages"]:
        folder = shared / "packages" / package["key"] / package["sha256"]
        folder.mkdir(parents=True)
        (folder / package["filename"]).write_bytes(b"the seed's copy")
    created = mfci("create", str(flow), "--step", "start", "--prefix", str(tmp_path / "env"),
                   env={"METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "fresh-cache")})
    assert created.returncode == 0, created.stderr
    ours = mfci("verify")
    assert ours.returncode == 0 and " 0 violations" in ours.stderr, ours.stderr
    _, everything = mfci_json("verify", "--root", str(shared))
    assert everything["violations"] == [] and everything["ignored"] == 2, everything
