"""Flows as public repositories write them (issue 11): a team base class in a library or a
sibling module, course material under a dot-folder, generated copies git ignores, remote
GPU steps with no cloud configured, Configs given on the command line, python ranges, and
a conda channel that cannot be reached. Each flow is written here, after those patterns."""

import json
import subprocess

from conftest import mfci, mfci_json, settings, two_step_flow, write_flow

from mfci.discover import DiscoveryOptions, discover
from mfci.scan import find_flow_files

SIX = '@pypi_base(packages={"six": "1.16.0"})'


def test_flows_are_found_through_shared_base_classes(tmp_path):
    repo = tmp_path / "repo"
    # The team's library (installed, or on PYTHONPATH): every flow derives from its base.
    write_flow(repo / "lib" / "teamflows", "__init__", "from .base import ProjectFlow\n")
    write_flow(repo / "lib" / "teamflows", "base", """
        from metaflow import FlowSpec, pypi_base

        @pypi_base(packages={"six": "1.16.0"})
        class ProjectFlow(FlowSpec):
            '''What every flow of the team shares.'''
    """)
    # A sibling module re-exporting Metaflow under other names, as course material does.
    write_flow(repo / "flows", "common", "from metaflow import step, FlowSpec as _Base\n\n"
                                        "class TeamFlow(_Base):\n    pass\n")
    two_step_flow(repo / "flows", "train", "TrainFlow", header="from teamflows import ProjectFlow", parent="ProjectFlow")
    write_flow(repo / "flows", "score", """
        from common import TeamFlow, step

        class ScoreFlow(TeamFlow):
            @step
            def start(self):
                self.next(self.zeta)

            @step
            def zeta(self):
                self.next(self.alpha)

            @step
            def alpha(self):
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            ScoreFlow()
    """)
    write_flow(repo / "flows", "tool", "class Helper:\n    pass\n\nif __name__ == '__main__':\n    print(Helper())\n")
    done, out = mfci_json("check", "repo/flows", "--arch", "linux-64", env={"PYTHONPATH": str(repo / "lib")})
    assert out["discovery"] == {"scanned": 4, "flows": 2, "failed": 0}, done.stderr
    assert out["errors"] == [] and {e["status"] for e in out["envs"]} == {"missing", "skipped"}
    assert "4 Python files scanned under repo/flows: 2 flow files" in done.stderr
    # Steps come in the flow's order, not the alphabet's.
    assert [e["step"] for e in out["envs"] if e["flow"] == "ScoreFlow"] == ["start", "zeta", "alpha", "end"]
    assert {e["status"] for e in out["envs"] if e["flow"] == "TrainFlow"} == {"missing"}   # the base's @pypi_base


def test_a_class_whose_base_cannot_be_read_is_a_flow_when_it_has_steps(tmp_path):
    write_flow(tmp_path, "dynamic", """
        from metaflow import step
        import importlib

        class Built(importlib.import_module("metaflow").FlowSpec):
            @step
            def start(self):
                pass

        if __name__ == "__main__":
            Built()
    """)
    write_flow(tmp_path, "script", "import os\n\nclass Thing(os.PathLike):\n    pass\n\n"
                                   "if __name__ == '__main__':\n    Thing()\n")
    scan = find_flow_files([str(tmp_path)])
    assert [p.name for p in scan.files] == ["dynamic.py"] and scan.scanned == 2


def test_scans_follow_git_skip_tool_folders_and_honour_excludes(tmp_path):
    course = tmp_path / "course"
    two_step_flow(course / ".guide" / "lesson1", "hello", "HelloFlow", base=SIX)
    two_step_flow(course / "generated", "copy", "CopyFlow", base=SIX)        # .gitignore'd
    two_step_flow(course / "legacy", "old", "OldFlow", base=SIX)             # --exclude legacy
    two_step_flow(course / ".venv" / "lib", "vendored", "VendoredFlow", base=SIX)
    two_step_flow(course / "env" / "lib", "vendored", "VendoredFlow", base=SIX)
    (course / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")          # a venv by another name
    (course / ".gitignore").write_text("generated/\n")
    subprocess.run(["git", "init", "-q", str(course)], check=True)
    done, out = mfci_json("check", "course", "--exclude", "legacy", "--arch", "linux-64")
    assert {e["flow"] for e in out["envs"]} == {"HelloFlow"}, done.stderr
    assert out["discovery"] == {"scanned": 1, "flows": 1, "failed": 0}
    # A folder git ignores, named on purpose, is scanned as it is.
    done, out = mfci_json("check", "course/generated", "--arch", "linux-64")
    assert {e["flow"] for e in out["envs"]} == {"CopyFlow"}, done.stderr

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.py").write_text("print('no flow here')\n")
    for command in ("check", "warm"):
        done = mfci(command, "empty")
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            'error: empty: no flow found (1 Python file scanned; a flow file defines a FlowSpec subclass and '
            'runs it under `if __name__ == "__main__"`)'], done.stderr


REMOTE_GPU = """
from metaflow import FlowSpec, batch, kubernetes, pypi_base, resources, step

@pypi_base(packages={"six": "1.16.0"})
class TrainOnGpuFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @kubernetes(gpu=1, memory=16000)
    @step
    def train(self):
        self.next(self.score)

    @batch(gpu=1)
    @step
    def score(self):
        self.next(self.end)

    @resources(gpu=1)
    @step
    def end(self):
        pass

if __name__ == "__main__":
    TrainOnGpuFlow()
"""


def test_remote_gpu_flows_load_without_a_cloud_and_run_on_linux(tmp_path, monkeypatch):
    flow = write_flow(tmp_path / "flows", "gpu_flow", REMOTE_GPU)
    done, out = mfci_json("check", "flows", "--arch", "linux-64", "--arch", "osx-arm64")
    assert out["errors"] == [], done.stderr
    rows = {(e["step"], e["arch"]): e["spec_id"] for e in out["envs"]}
    # Remote steps are resolved for the Linux they run on only; local ones for every arch.
    assert set(rows) == {("start", "linux-64"), ("start", "osx-arm64"), ("train", "linux-64"),
                         ("score", "linux-64"), ("end", "linux-64"), ("end", "osx-arm64")}
    # GPU steps get the GPU packages on Linux (one spec for the three), none on macOS.
    assert rows["train", "linux-64"] == rows["score", "linux-64"] == rows["end", "linux-64"] != rows["start", "linux-64"]
    assert rows["end", "osx-arm64"] == rows["start", "osx-arm64"]

    steps = {s.step: s for s in discover([str(flow)], 1, DiscoveryOptions.of(settings())).reports[0].steps}
    # Loaded as its runs are, with a cloud datastore: Metaflow's pins for it included.
    assert steps["train"].remote_arch == "linux-64" and steps["train"].gpu and "boto3" in steps["train"].pypi
    assert steps["start"].remote_arch is None and "boto3" in steps["start"].pypi
    # Metaflow's own setting for ARM Kubernetes nodes is honoured.
    monkeypatch.setenv("METAFLOW_KUBERNETES_CONDA_ARCH", "linux-aarch64")
    steps = {s.step: s for s in discover([str(flow)], 1, DiscoveryOptions.of(settings())).reports[0].steps}
    assert steps["train"].remote_arch == "linux-aarch64" and steps["score"].remote_arch == "linux-64"


def test_configs_come_from_the_command_line_and_name_themselves_when_missing(tmp_path):
    # The Config is a class attribute, and @pypi_base reads it (config_expr).
    two_step_flow(tmp_path / "flows", "configured_flow", "DepsFromConfigFlow", start='deps = Config("deps")',
                  base='@pypi_base(packages=config_expr("deps.packages"), python=config_expr("deps.python"))')
    two_step_flow(tmp_path / "flows", "plain_flow", "PlainFlow", base='@pypi_base(packages={"six": "1.16.0"}, python="3.11")')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 1 and out["discovery"]["failed"] == 1
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: flows/configured_flow.py: DepsFromConfigFlow: Config 'deps' has no value "
                            "(it has no default; pass --config deps PATH or --config-value deps VALUE)"), error
    assert {e["status"] for e in out["envs"]} == {"resolved"}      # the other flow is warmed all the same
    assert "1 failed to load" in done.stderr

    value = '{"packages": {"six": "1.16.0"}, "python": "3.11"}'
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--config-value", "deps", value,
                          "--config-value", "dpes", "{}")
    assert done.returncode == 0, done.stderr
    assert {(e["flow"], e["status"]) for e in out["envs"]} == {("DepsFromConfigFlow", "hit"), ("PlainFlow", "hit")}
    assert "--config-value dpes: no flow has a Config named 'dpes'" in done.stderr
    found, env = mfci_json("lookup", "flows/configured_flow.py", "--step", "start", "--arch", "linux-64",
                           "--config-value", "deps", value)
    assert found.returncode == 0 and env["env_id"] == out["envs"][0]["env_id"], found.stderr

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "deps.json").write_text(value)        # relative to where mfci runs, not to the flow
    done, out = mfci_json("check", "flows", "--arch", "linux-64", "--config", "deps", "conf/deps.json")
    assert done.returncode == 0 and {e["status"] for e in out["envs"]} == {"hit"}, done.stderr

    done = mfci("check", "flows", "--arch", "linux-64", "--config-value", "deps", '{"packages": ')
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: flows/configured_flow.py: DepsFromConfigFlow: Config 'deps' cannot load: ")
    assert "not valid JSON" in error


def test_python_ranges_warm_end_to_end(tmp_path, channel_env):
    two_step_flow(tmp_path / "flows", "pypi_range", "PyPIRangeFlow",
                  base='@pypi_base(python=">=3.11,<3.13", packages={"six": "1.16.0"})')
    two_step_flow(tmp_path / "flows", "conda_range", "CondaRangeFlow",
                  base='@conda_base(python=">=3.11,<3.12", packages={"six": "1.17.0"})')
    # (the pythons the suite's CPython mirror has builds of: 3.11 and 3.12)
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--python", "3.11", "--python", "3.12")
    assert done.returncode == 0, done.stderr
    pythons = {(e["flow"], e["python"]) for e in out["envs"]}
    assert pythons == {("PyPIRangeFlow", "3.11"), ("PyPIRangeFlow", "3.12"), ("CondaRangeFlow", "3.11")}
    assert {e["status"] for e in out["envs"]} == {"resolved"}
    # With several pythons warmed, progress lines say which.
    assert any("python 3.12" in line for line in done.stderr.splitlines() if line.startswith("resolved"))


def test_an_unreachable_channel_is_reported_once(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", "http://127.0.0.1:9/unreachable")
    for index, package in enumerate(("six", "requests", "native-tool")):
        two_step_flow(tmp_path / "flows", f"conda_{index}", f"Conda{index}Flow",
                      base=f'@conda_base(packages={{"{package}": ""}})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--arch", "osx-arm64")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(
        "error: (conda channel): conda channel http://127.0.0.1:9/unreachable unreachable: "), done.stderr
    assert len(out["envs"]) == 12 and {e["status"] for e in out["envs"]} == {"failed"}
    assert json.dumps(out["errors"]).count("unreachable") == 2   # one error, naming the channel (and saying so)
