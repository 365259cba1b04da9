"""`mfci export`: what mfci resolved, as lock files other tools install — uv installs the
pylock.toml, pip the hashed requirements offline from a find-links folder of the store's
files; the conda forms parse with py-rattler and name the channel's own files."""

import shutil
import subprocess
import sys

import tomllib
import yaml
from conftest import mfci, mfci_json, two_step_flow
from rattler import LockFile
from rattler.explicit_environment import ExplicitEnvironmentSpec

from mfci.io.process import uv_binary

ARCH = "linux-64"


def test_pypi_step_as_pylock_and_requirements_installed_offline(tmp_path, store_root):
    flows = tmp_path / "flows"
    flow = two_step_flow(flows, "etl_flow", "EtlFlow", start='@pypi(packages={"requests": "2.32.3"})')
    warmed = mfci("warm", str(flows), "--arch", ARCH)
    assert warmed.returncode == 0, warmed.stderr
    _, found = mfci_json("lookup", str(flow), "--step", "start", "--arch", ARCH)
    wheels = {p["name"]: p for p in found["packages"] if p["kind"] == "pypi"}
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer"} <= set(wheels)

    # pylock.toml naming the index's files, then the store's: uv installs the latter offline
    done = mfci("export", str(flow), "--step", "start", "--arch", ARCH, "--format", "pylock.toml")
    assert done.returncode == 0, done.stderr
    lock = tomllib.loads(done.stdout)
    assert lock["lock-version"] == "1.0" and lock["requires-python"].startswith("==3.")
    by_name = {package["name"]: package for package in lock["packages"]}
    assert set(by_name) == set(wheels)
    [wheel] = by_name["requests"]["wheels"]
    assert wheel["url"] == wheels["requests"]["url"] and wheel["hashes"] == {"sha256": wheels["requests"]["sha256"]}

    done = mfci("export", str(flow), "--step", "start", "--arch", ARCH, "--format", "pylock.toml", "--store-urls",
                "-o", "pylock.toml")
    assert done.returncode == 0, done.stderr
    assert "mfci export:" in done.stderr and "pylock.toml" in done.stderr
    stored = tomllib.loads((tmp_path / "pylock.toml").read_text())
    assert all(w["url"].startswith(store_root.as_uri() + "/packages/") for p in stored["packages"] for w in p["wheels"])
    venv = tmp_path / "uv-venv"
    subprocess.run([uv_binary(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    installed = subprocess.run([uv_binary(), "pip", "install", "--offline", "--python", str(venv / "bin" / "python"),
                                "-r", "pylock.toml"], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    imported = subprocess.run([venv / "bin" / "python", "-c", "import requests; print(requests.__version__)"],
                              capture_output=True, text=True)
    assert imported.stdout.strip() == "2.32.3", imported.stderr

    # requirements with --hash lines: pip, offline, from a find-links folder of the store's files
    done = mfci("export", str(flow), "--step", "start", "--arch", ARCH, "--format", "requirements",
                "-o", "requirements.txt")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "requirements.txt").read_text()
    assert "requests==2.32.3 \\\n    --hash=sha256:" + wheels["requests"]["sha256"] in text
    links = tmp_path / "find-links"
    links.mkdir()
    for key in (k for k in _keys(store_root, "packages/pypi") if k.suffix == ".whl"):
        shutil.copy(key, links / key.name)
    target = tmp_path / "pip-target"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(links),
                          "--require-hashes", "-r", "requirements.txt", "--target", str(target)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    assert (target / "requests" / "__init__.py").is_file()


def _keys(store_root, folder):
    return sorted(path for path in (store_root / folder).rglob("*") if path.is_file())


def test_conda_alias_as_explicit_and_conda_lock(tmp_path, conda_channel, store_root):
    (tmp_path / "environment.yml").write_text(f"""
channels:
  - {conda_channel.as_uri()}
  - nodefaults
dependencies:
  - python=3.11
  - requests
""")
    done = mfci("resolve", "-f", "environment.yml", "--arch", ARCH, "--alias", "team/fetch:v1")
    assert done.returncode == 0, done.stderr
    _, found = mfci_json("lookup", "--alias", "team/fetch:v1", "--arch", ARCH)
    conda = {p["url"]: p for p in found["packages"]}
    assert all(p["kind"] == "conda" for p in conda.values())

    done = mfci("export", "--alias", "team/fetch:v1", "--arch", ARCH, "--format", "conda-explicit", "-o", "explicit.txt")
    assert done.returncode == 0, done.stderr
    spec = ExplicitEnvironmentSpec.from_path(tmp_path / "explicit.txt")
    assert str(spec.platform) == ARCH
    assert {entry.url.split("#")[0] for entry in spec.packages} == set(conda)

    done = mfci("export", "--alias", "team/fetch:v1", "--arch", ARCH, "--format", "conda-lock", "--store-urls",
                "-o", "conda-lock.yml")
    assert done.returncode == 0, done.stderr
    assert [str(p.name) for p in LockFile.from_path(tmp_path / "conda-lock.yml").platforms()] == [ARCH]
    lock = yaml.safe_load((tmp_path / "conda-lock.yml").read_text())
    assert lock["version"] == 1 and lock["metadata"]["platforms"] == [ARCH]
    assert lock["metadata"]["channels"] == [{"url": conda_channel.as_uri(), "used_env_vars": []}]
    assert {p["manager"] for p in lock["package"]} == {"conda"} and len(lock["package"]) == len(conda)
    for package in lock["package"]:
        assert package["url"].startswith(store_root.as_uri() + "/packages/conda/")
        assert (store_root / package["url"][len(store_root.as_uri()) + 1:]).is_file()

    wrong = mfci("export", "--alias", "team/fetch:v1", "--arch", ARCH, "--format", "pylock.toml")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1].startswith("mfci: error:") and "conda-explicit" in wrong.stderr
