"""The interpreter comes from the store: a step pinned to an exact python gets that build,
with the mirror it came from stopped and no such python on the machine's PATH."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import mfci, mfci_json, run_flow, serve, write_flow
from python_builds import publish

# A step that reports the interpreter it runs on and where its libpython was loaded from.
REPORT = ("import re, sys, six; "
          "lib = next((l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l), 'static'); "
          "print(sys.version.split()[0], sys.base_prefix, lib, six.__version__)")

FLOW = '''
import sys
from metaflow import FlowSpec, pypi, pypi_base, step

@pypi_base(python="{python}")
class PinnedFlow(FlowSpec):
    @pypi(packages={{"six": "1.16.0"}})
    @step
    def start(self):
        print("start runs on", sys.version.split()[0], sys.base_prefix)
        self.next(self.end)

    @pypi(packages={{"six": "1.15.0"}})
    @step
    def end(self):
        print("end runs on", sys.version.split()[0], sys.base_prefix)

if __name__ == "__main__":
    PinnedFlow()
'''


def other_python(python_builds):
    """The real build that is not the python running the tests (pyenv's 3.12)."""
    running = "%d.%d.%d" % sys.version_info[:3]
    return next(b for b in python_builds if b.arch == "linux-64" and b.version != running)


def bare_path(version: str) -> str:
    """A PATH without pyenv (nor any other python of that version)."""
    minor = ".".join(version.split(".")[:2])
    path = "/usr/local/bin:/usr/bin:/bin"
    assert shutil.which(f"python{minor}", path=path) is None
    return path


def test_pinned_step_gets_its_stored_interpreter_offline(tmp_path, store_root, python_builds):
    build = other_python(python_builds)
    flow = write_flow(tmp_path / "flows", "pinned_flow", FLOW.format(python=build.version))
    # A mirror holding only linux-64 builds: aarch64 has no build of that python.
    real = [b for b in python_builds if b.arch == "linux-64"]
    with serve(publish(real, tmp_path / "mirror")) as url:
        mirror = {"UV_PYTHON_DOWNLOADS_JSON_URL": f"{url}/download-metadata.json", "UV_PYTHON_INSTALL_MIRROR": url}
        done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--arch", "linux-aarch64", env=mirror)
    assert done.returncode == 1
    status = {(e["step"], e["arch"]): e["status"] for e in out["envs"]}
    assert status == {("start", "linux-64"): "resolved", ("end", "linux-64"): "resolved",
                      ("start", "linux-aarch64"): "failed", ("end", "linux-aarch64"): "failed"}
    missing = f"no CPython {build.version} build for linux-aarch64"
    assert {e["step"] for e in out["errors"]} == {"start", "end"}
    assert all(missing in e["message"] for e in out["errors"])
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        line for line in done.stderr.splitlines() if missing in line]

    # One copy of the build in the store for both environments, named in each record.
    stored = list((store_root / "packages" / "python").rglob("*.tar.gz"))
    assert [p.name for p in stored] == [build.archive.name]
    shown, record = mfci_json("lookup", str(flow), "--step", "end", "--arch", "linux-64")
    interpreter = [p for p in record["packages"] if p["kind"] == "python"]
    assert [(p["name"], p["version"], p["sha256"]) for p in interpreter] == [("cpython", build.version, build.sha256)]

    # The mirror is gone and no python of that version is on PATH.
    offline = {"PATH": bare_path(build.version), "UV_PYTHON_DOWNLOADS": "never"}
    envs = {}
    for step in ("start", "end"):
        made = mfci("create", str(flow), "--step", step, "--prefix", str(tmp_path / step), env=offline)
        assert made.returncode == 0, made.stderr
        ran = subprocess.run([made.stdout.strip(), "-c", REPORT], capture_output=True, text=True, env=offline)
        version, home, libpython, six = ran.stdout.split()
        assert version == build.version and six == ("1.16.0" if step == "start" else "1.15.0"), ran.stderr
        envs[step] = Path(home)
        assert libpython == "static" or Path(libpython).is_relative_to(home)
    pythons = tmp_path / "cache" / "pythons"
    assert envs["start"] == envs["end"] and envs["start"].parent.parent == pythons
    assert [p.name for p in pythons.iterdir() if not p.name.startswith(".")] == [build.sha256]

    # Metaflow itself, strict: every step runs on that interpreter.
    run = run_flow(flow, "--environment=pypi", "run", env={**offline, "PATH": f"{Path(sys.executable).parent}:"
                                                            f"{offline['PATH']}", "METAFLOW_CONDA_MFCI_STRICT": "1"})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert f"start runs on {build.version} {envs['start']}" in output and f"end runs on {build.version}" in output

    # A corrupted store copy, its source gone: refused, never unpacked.
    stored[0].write_bytes(b"not a python")
    fresh = tmp_path / "fresh-cache"
    refused = mfci("create", str(flow), "--step", "end", "--prefix", str(tmp_path / "refused"),
                   env={**offline, "METAFLOW_CONDA_MFCI_CACHE_DIR": str(fresh)})
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert build.archive.name in line and "sha256" in line and "Traceback" not in line
    assert not (fresh / "pythons").exists() or not any((fresh / "pythons").iterdir())


def test_corrupted_interpreter_is_fetched_again_from_its_mirror(tmp_path, store_root):
    """The session's mirror is up: a damaged store copy is replaced from it, verified."""
    write_flow(tmp_path / "flows", "plain_flow", FLOW.format(python="%d.%d" % sys.version_info[:2]))
    assert mfci("warm", "flows", "--arch", "linux-64").returncode == 0
    [stored] = (store_root / "packages" / "python").rglob("*.tar.gz")
    good = stored.read_bytes()
    stored.write_bytes(good[: len(good) // 2])
    made = mfci("create", "flows/plain_flow.py", "--step", "start", "--prefix", str(tmp_path / "env"))
    assert made.returncode == 0, made.stderr
    version = subprocess.run([made.stdout.strip(), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "%d.%d.%d" % sys.version_info[:3]


def test_records_without_an_interpreter_still_build(tmp_path, store_root):
    """A record published before interpreters were stored (no "python" package) is read and
    built on this machine's python, as it was then."""
    from mfci.config import Settings
    from mfci.publish import publish_record
    from mfci.record import EnvRecord

    write_flow(tmp_path / "flows", "plain_flow", FLOW.format(python="%d.%d" % sys.version_info[:2]))
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    settings = Settings.load()
    start = next(e for e in out["envs"] if e["step"] == "start")
    path = store_root / settings.layout.record(start["spec_id"], "linux-64", start["env_id"])
    record = EnvRecord.from_json(json.loads(path.read_text()))
    old = EnvRecord(record.spec_id, record.arch, record.python,
                    tuple(p for p in record.packages if p.kind != "python"), record.spec, record.resolver,
                    record.resolved_by, "9999-01-01T00:00:00+00:00")
    publish_record(settings.open_store(), settings.layout, old)
    made = mfci("create", "flows/plain_flow.py", "--step", "start", "--prefix", str(tmp_path / "env"))
    assert made.returncode == 0, made.stderr
    assert f"{old.env_id[:12]} ({len(old.packages)} packages)" in made.stderr
    assert not (tmp_path / "cache" / "pythons").exists()
