"""An install that works as written: `python -m build` makes an sdist and a wheel (from the
sdist, as CI does), and the wheel with an extra, given to the action as `mfci-source` (its
install script: a fresh venv, `pip install '<wheel>[s3]'`, as README says), runs
`mfci --version` and loads its Metaflow extension on `import metaflow`."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from mfci import __version__
from mfci.io.process import uv_binary

REPO = Path(__file__).resolve().parents[1]
EXTENSION_LOADS = """
import metaflow
from metaflow.extension_support import dump_module_info
from metaflow.plugins import ENVIRONMENTS
packages = dump_module_info()[1][0]
assert "mfci" in packages, packages
served = {environment.TYPE: environment.__module__ for environment in ENVIRONMENTS}
assert served["pypi"].startswith("metaflow_extensions.mfci."), served
print("extension", packages["mfci"]["version"], served["pypi"])
"""


def test_wheel_and_sdist_build_and_the_wheel_runs_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    # build installs the build backend with uv (the one the project ships), from the index
    path = f"{Path(uv_binary()).parent}{os.pathsep}{os.environ['PATH']}"
    built = subprocess.run([sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(dist), str(REPO)],
                           capture_output=True, text=True, env={**os.environ, "PATH": path})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert "deprecated" not in built.stdout + built.stderr
    wheel, sdist = dist / f"mfci-{__version__}-py3-none-any.whl", dist / f"mfci-{__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    for needed in ("pyproject.toml", "README.md", "mfci/cli/__init__.py", "metaflow_extensions/mfci/plugins/mfextinit_mfci.py"):
        assert f"mfci-{__version__}/{needed}" in names

    runner = tmp_path / "runner"
    runner.mkdir()
    github = {"RUNNER_TEMP": str(runner), "GITHUB_ACTION_PATH": str(REPO), "GITHUB_PATH": str(runner / "path"),
              "GITHUB_OUTPUT": str(runner / "output"), "MFCI_BASE_PYTHON": sys._base_executable,
              "MFCI_SOURCE": f"{wheel}[s3]"}
    installed = subprocess.run(["bash", str(REPO / "action" / "install.sh")], capture_output=True, text=True,
                               env={**os.environ, **github})
    assert installed.returncode == 0, installed.stderr[-3000:]
    python = Path((runner / "output").read_text().strip().removeprefix("python="))
    venv = python.parent.parent
    assert (runner / "path").read_text().strip() == str(venv / "bin")
    version = subprocess.run([venv / "bin" / "mfci", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"mfci {__version__}", version.stderr
    loaded = subprocess.run([python, "-c", EXTENSION_LOADS], capture_output=True, text=True, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["extension", __version__, "metaflow_extensions.mfci.plugins.mfci_environment"]
    sdk = subprocess.run([python, "-c", "import boto3"], capture_output=True, text=True)
    assert sdk.returncode == 0, sdk.stderr  # the extra came along
