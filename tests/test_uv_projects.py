"""Metaflow's `--environment=uv`, served from the store: a uv project (pyproject.toml and a
uv.lock made by the real uv against PyPI), warmed, then run with the index unreachable."""

import json
import subprocess
from pathlib import Path

from conftest import mfci, mfci_json, run_flow, write_flow
from test_bootstrap import bootstrap_in_a_bare_worker

from mfci.io.process import uv_binary

STRICT = {"METAFLOW_CONDA_MFCI_STRICT": "1"}
# The run may not reach any index: uv (and so Metaflow's own uv bootstrap) would fail.
NO_INDEX = {**STRICT, "UV_INDEX_URL": "http://127.0.0.1:9/simple", "UV_OFFLINE": "1"}

PYPROJECT = """\
[project]
name = "hello-uv"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["six>=1.15", "colorama; sys_platform == 'win32'"]
"""

FLOW = """\
from metaflow import FlowSpec, step


class HelloUvFlow(FlowSpec):
    @step
    def start(self):
        import importlib.util, six, sys
        print("six", six.__version__, "colorama", importlib.util.find_spec("colorama") is not None,
              "prefix", sys.prefix)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    HelloUvFlow()
"""


def uv(project: Path, *args: str) -> None:
    done = subprocess.run([uv_binary(), *args, "--quiet"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def locked_project(folder: Path) -> None:
    """A uv project the way `uv init` + `uv add` leave one."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    uv(folder, "lock")


def uv_project(folder: Path) -> Path:
    """The project with its flow in a subfolder."""
    locked_project(folder)
    return write_flow(folder / "flows", "hello_uv", FLOW)


def ran_offline(flow: Path) -> str:
    done = run_flow(flow, "--environment=uv", "run", env=NO_INDEX)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "[mfci] start: environment" in output and "Bootstrapping uv" not in output
    return output


def test_uv_project_runs_from_the_store_and_a_changed_lock_is_warmed_again(tmp_path, store_root):
    flow = uv_project(tmp_path / "project")
    done, out = mfci_json("warm", "project", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert {(e["step"], e["status"]) for e in out["envs"]} == {("start", "resolved"), ("end", "resolved")}
    env = out["envs"][0]
    record = json.loads(next((store_root / "envs" / env["spec_id"]).rglob(f"{env['env_id']}.json")).read_text())
    kinds = {p["name"]: p["kind"] for p in record["packages"]}
    # The lock's selection for linux (no colorama: it is for Windows), Metaflow's datastore
    # pins (requests) under the lock's versions, and the interpreter; never Metaflow itself.
    assert kinds["six"] == "pypi" and kinds["requests"] == "pypi" and kinds["cpython"] == "python"
    assert "colorama" not in kinds and "metaflow" not in kinds and record["resolver"] == "uv.lock"

    output = ran_offline(flow)
    assert "six 1.17.0 colorama False" in output
    assert str(tmp_path / "cache" / "envs") in output   # the task ran in mfci's environment

    # `check` and `show` cover uv flows like the others.
    checked, report = mfci_json("check", "project", "--arch", "linux-64")
    assert checked.returncode == 0 and {e["status"] for e in report["envs"]} == {"hit"}, checked.stderr
    shown, listed = mfci_json("show")
    assert {(e["flow"], e["step"], e["env_id"]) for e in listed["envs"]} == {
        ("HelloUvFlow", e["step"], e["env_id"]) for e in out["envs"]}

    # The lock changes (a real upgrade, down to 1.16): warmed again; unchanged: a hit.
    uv(tmp_path / "project", "lock", "--upgrade-package", "six<1.17")
    missing = mfci("check", "project", "--arch", "linux-64")
    assert missing.returncode == 1 and "missing: project/flows/hello_uv.py step start" in missing.stderr
    strict = run_flow(flow, "--environment=uv", "run", env=NO_INDEX)
    assert strict.returncode != 0 and "has no warmed environment" in strict.stdout + strict.stderr
    again, out = mfci_json("warm", "project", "--arch", "linux-64")
    assert again.returncode == 0 and {e["status"] for e in out["envs"]} == {"resolved"}, again.stderr
    assert "six 1.16.0" in ran_offline(flow)
    hit, out = mfci_json("warm", "project", "--arch", "linux-64")
    assert hit.returncode == 0 and {e["status"] for e in out["envs"]} == {"hit"}


def test_a_lock_out_of_date_with_its_pyproject_is_one_error_and_nothing_is_published(tmp_path, store_root):
    write_flow(tmp_path / "project" / "flows", "hello_uv", FLOW)
    done, out = mfci_json("warm", "project", "--arch", "linux-64")   # no uv project yet: nothing to warm
    assert done.returncode == 0 and {e["status"] for e in out["envs"]} == {"skipped"}, done.stderr
    locked_project(tmp_path / "project")   # found now, though the flow itself did not change
    pyproject = tmp_path / "project" / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('"six>=1.15"', '"six>=1.15", "toolz"'))
    done = mfci("warm", "project", "--arch", "linux-64")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and len(errors) == 1, done.stderr
    assert str(pyproject) in errors[0] and "needs to be updated" in errors[0]
    assert "Traceback" not in done.stderr and not (store_root / "envs").exists()
    checked = mfci("check", "project", "--arch", "linux-64")
    assert checked.returncode == 1 and errors[0] in checked.stderr
    # A repository that uses uv for itself, not for its flows, says so: nothing to warm.
    done, out = mfci_json("warm", "project", "--arch", "linux-64", env={"METAFLOW_CONDA_MFCI_UV_PROJECTS": "0"})
    assert done.returncode == 0 and {e["status"] for e in out["envs"]} == {"skipped"}, done.stderr
    # Nor does a launch resolve it (without strict mode, an unwarmed lock is resolved at launch).
    launched = run_flow(tmp_path / "project" / "flows" / "hello_uv.py", "--environment=uv", "run")
    output = launched.stdout + launched.stderr
    assert launched.returncode != 0 and "needs to be updated" in output and "Traceback" not in output
    assert not (store_root / "envs").exists()


def test_remote_uv_step_bootstraps_from_the_store_in_a_bare_worker(tmp_path):
    """A remote task of a uv project: the same bare worker as @pypi's (no uv, no mfci, no
    index), its environment, interpreter and uv from the store."""
    locked_project(tmp_path / "project")
    remote = bootstrap_in_a_bare_worker(tmp_path, "", "1.17.0", {}, environment="uv")
    assert not any("metaflow.plugins.uv.bootstrap" in line for line in remote["lines"])
