"""A remote task's bootstrap, run as a worker would: a fresh venv holding only Metaflow
(no mfci, no uv on PATH), a folder holding only the code package, and the store."""

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import mfci, run_flow, serve, two_step_flow
from python_builds import publish

REMOTE_EXTENSION = Path(__file__).parent / "remote_ext"



PYPI_BASE = '@pypi_base(packages={"six": "1.16.0"})'


@pytest.mark.parametrize("base,six", [(PYPI_BASE, "1.16.0"), ('@conda_base(packages={"six": "1.17.0"})', "1.17.0")])
def test_remote_bootstrap_in_a_bare_worker(tmp_path, channel_env, base, six):
    bootstrap_in_a_bare_worker(tmp_path, base, six, channel_env)


@pytest.mark.parametrize("cloud_empty", ["s3"], indirect=True)
def test_remote_bootstrap_from_s3(tmp_path, cloud):
    """A worker image carries its cloud's SDK (Metaflow's own datastore needs it too) and
    gets the endpoint and keys from its environment."""
    remote = bootstrap_in_a_bare_worker(tmp_path, PYPI_BASE, "1.16.0", {}, sdks=["boto3"],
                                        worker_env=cloud.client_env())
    assert any(f"--root {cloud.root}" in line for line in remote["lines"])


def test_remote_step_runs_on_its_pinned_python_whatever_the_image_has(tmp_path, python_builds):
    """The worker's python is 3.9 (the oldest a worker may have); the step pinned another
    python, whose build came from a mirror that is gone by the time the worker starts."""
    build = next(b for b in python_builds if b.arch == "linux-64" and b.version != "%d.%d.%d" % sys.version_info[:3])
    worker = sorted(Path(sys.base_prefix).parent.glob("3.9.*"))[-1] / "bin" / "python3"
    remote = bootstrap_in_a_bare_worker(tmp_path, f'@pypi_base(python="{build.version}", packages={{"six": "1.16.0"}})',
                                        "1.16.0", {}, image_python=worker,
                                        mirror=[b for b in python_builds if b.arch == "linux-64"])
    assert remote["python"] == build.version and remote["worker"].startswith("3.9.")


def bootstrap_in_a_bare_worker(tmp_path, base: str, six: str, extra_env: dict, sdks: tuple = (),
                               worker_env: dict | None = None, image_python=sys.executable,
                               mirror: list | None = None, environment: str = "pypi") -> dict:
    """image_python: the worker image's python; mirror: CPython builds to warm from, served
    only while warming; environment: Metaflow's --environment (uv: a uv project in tmp_path/project)."""
    env = {"PYTHONPATH": str(REMOTE_EXTENSION), **extra_env}
    flow = two_step_flow(tmp_path / "project", "remote_flow", "RemoteFlow", base=base, start="@fake_remote")
    if mirror:
        with serve(publish(mirror, tmp_path / "mirror")) as url:
            done = mfci("warm", "project", "--arch", "linux-64",
                        env={**env, "UV_PYTHON_DOWNLOADS_JSON_URL": f"{url}/download-metadata.json",
                             "UV_PYTHON_INSTALL_MIRROR": url})
    else:
        done = mfci("warm", "project", "--arch", "linux-64", env=env)
    assert done.returncode == 0, done.stderr

    package = tmp_path / "job.tar"
    saved = run_flow(flow, f"--environment={environment}", "package", "save", str(package), env=env)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    script = tmp_path / "script.json"
    shown = run_flow(flow, f"--environment={environment}", "remotetest", "script", "--step", "start",
                     "--output", str(script), env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    remote = json.loads(script.read_text())
    assert any("mfci.bootstrap" in line for line in remote["lines"])

    worker_python = tmp_path / "worker-venv"
    subprocess.run([str(image_python), "-m", "venv", str(worker_python)], check=True)
    pins = [f"{sdk}=={version(sdk)}" for sdk in sdks]
    subprocess.run([worker_python / "bin" / "pip", "install", "--quiet", f"metaflow=={version('metaflow')}", *pins],
                   check=True, capture_output=True)
    bare = {"PATH": f"{worker_python / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "worker-home"),
            "METAFLOW_USER": "worker", **(worker_env or {})}
    for probe in ("import mfci", "import uv"):
        assert subprocess.run([worker_python / "bin" / "python", "-c", probe], env=bare,
                              capture_output=True).returncode != 0
    assert subprocess.run(["bash", "-c", "command -v uv"], env=bare).returncode != 0

    worker = tmp_path / "worker"
    worker.mkdir()
    (worker / "job.tar").write_bytes(package.read_bytes())
    shell = "\n".join(["set -e", "flush_mflogs() { :; }", *remote["lines"],
                       f"{remote['executable']} -c 'import six, sys; print(six.__version__, sys.prefix, "
                       "*sys.version_info[:3], sep=chr(32))'",
                       "python -c 'import sys; print(*sys.version_info[:3], sep=chr(46))'"])
    ran = subprocess.run(["bash", "-c", shell], cwd=worker, env=bare, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    six_version, prefix, major, minor, patch, remote["worker"] = ran.stdout.split()[-6:]
    remote["python"] = f"{major}.{minor}.{patch}"
    assert six_version == six and Path(prefix).is_relative_to(worker)
    assert "mfci bootstrap: environment" in ran.stderr
    assert (worker / ".mfci-bootstrap" / "bin" / "uv").is_file()  # uv came from the store
    assert (worker / ".mfci-bootstrap" / "site" / "rattler").is_dir() == ("conda" in base)
    return remote
