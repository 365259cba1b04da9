"""Flows written for the seed (metaflow-netflixext), unchanged: each decorator argument
warmed, looked up and run for real in strict mode — conda packages from the test-built
channel, PyPI ones from real PyPI and from a private index served here.

The corpus is warmed once for the module into one store; each test then runs its flows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import TOOL_VARIABLES, serve, simple_index
from seed_corpus import pathspec_flow, private_wheel, second_channel, write_corpus


@dataclass
class Corpus:
    root: Path
    env: dict
    flows: dict
    warm: dict

    def mfci(self, *args: str, **extra) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mfci", *args], capture_output=True, text=True,
                              env={**self.env, **extra}, cwd=self.root, timeout=600)

    def run(self, name: str, *args: str, environment: str = "pypi", **extra) -> str:
        path = self.flows[name]
        done = subprocess.run([sys.executable, path.name, f"--environment={environment}", "run", *args],
                              capture_output=True, text=True, cwd=path.parent, timeout=600,
                              env={**self.env, "METAFLOW_CONDA_MFCI_STRICT": "1", **extra})
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert "Bootstrapping virtual environment" not in output and "resolving it now" not in output
        return output

    def rows(self, flow: str) -> dict:
        return {(e["step"], e["arch"]): e for e in self.warm["envs"] if e["flow"] == flow}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, conda_channel, python_mirror):
    root = tmp_path_factory.mktemp("seed-corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith(TOOL_VARIABLES)}
    env.update({**python_mirror, "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "METAFLOW_USER": "tester",
                "METAFLOW_HOME": str(root / "home"), "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(root / "datastore"),
                "METAFLOW_CONDA_LOCALROOT": str(root / "store"), "METAFLOW_CONDA_MFCI_CACHE_DIR": str(root / "cache"),
                "METAFLOW_CONDA_CHANNELS": conda_channel.as_uri(), "CORPUS_V2": str(root / "v2.txt")})
    (root / "home").mkdir()
    wheels = [private_wheel(root / "wheels", version) for version in ("1.0", "2.0rc1")]
    # What a step's environment needs besides the user's packages: Metaflow's own `requests`.
    (root / "v1.txt").write_text("six==1.15.0\nrequests>=2.21.0\n")
    (root / "v2.txt").write_text("six==1.16.0\nrequests>=2.21.0\n")
    channel = second_channel(root / "team-channel")
    with serve(simple_index(root / "index", wheels)) as url:
        corpus = Corpus(root, env, write_corpus(root / "flows", channel.as_uri(), f"{url}/simple"), {})
        for alias in ("corpus/tools:v1", "corpus/moving"):
            done = corpus.mfci("resolve", "-r", "v1.txt", "--arch", "linux-64", "--alias", alias)
            assert done.returncode == 0, done.stderr
        done = corpus.mfci("warm", "flows", "--arch", "linux-64", "--json")
        assert done.returncode == 0, done.stderr
        corpus.warm = json.loads(done.stdout)
        corpus.warm_log = done.stderr
    yield corpus  # the private index is gone: runs build from the store alone


def record(corpus: Corpus, row: dict) -> dict:
    path = corpus.root / "store" / "mfci" / "envs" / row["spec_id"] / row["arch"] / f"{row['env_id']}.json"
    return json.loads(path.read_text())


def files(corpus: Corpus, row: dict) -> set[str]:
    return {p["filename"] for p in record(corpus, row)["packages"]}


def test_channels_on_a_step(corpus):
    start = corpus.rows("ChannelsFlow")[("start", "linux-64")]
    assert start["status"] == "resolved"
    assert any(p["url"].startswith((corpus.root / "team-channel").as_uri()) and p["name"] == "team-tool"
               for p in record(corpus, start)["packages"])
    assert "team-tool h0_0 noarch" in corpus.run("channels", environment="conda")


def test_extra_indices_and_extras(corpus):
    rows = corpus.rows("IndicesFlow")
    versions = {step: {p["name"]: p["version"] for p in record(corpus, rows[(step, "linux-64")])["packages"]}
                for step in ("start", "end")}
    assert versions["start"]["mfci-corpus-private"] == "1.0"          # no pre-releases by default
    assert versions["end"]["mfci-corpus-private"] == "2.0rc1"         # extras=["pre"]
    assert versions["start"]["requests"]                               # the rest still from PyPI
    output = corpus.run("indices")
    assert "private 1.0" in output and "private 2.0rc1" in output


def test_conda_only_is_a_pypi_environment_with_conda_tools(corpus):
    start = corpus.rows("CondaOnlyFlow")[("start", "linux-64")]
    kinds = {(p["name"], p["kind"]) for p in record(corpus, start)["packages"]}
    assert ("native-tool", "conda") in kinds and ("six", "pypi") in kinds
    assert "six 1.16.0 | native-tool h0_0 linux-64" in corpus.run("conda_only")


def test_sys_packages_choose_the_cuda_build(corpus):
    rows = corpus.rows("SysPackagesFlow")
    assert "gpu-app-1.0-cuda_1.conda" in files(corpus, rows[("start", "linux-64")])
    assert "gpu-app-1.0-cpu_0.conda" in files(corpus, rows[("end", "linux-64")])
    output = corpus.run("sys_packages", environment="conda")
    assert "gpu-app cuda_1 linux-64" in output and "gpu-app cpu_0 linux-64" in output


def test_mixed_step_imports_both_sides(corpus):
    rows = corpus.rows("MixedFlow")
    for step in ("start", "end"):
        kinds = {(p["name"], p["kind"]) for p in record(corpus, rows[(step, "linux-64")])["packages"]}
        assert ("six", "conda") in kinds and ("pyyaml", "pypi") in kinds and ("six", "pypi") not in kinds
    assert corpus.run("mixed", environment="conda").count("six 1.17.0 yaml 6.0.2") == 2


def test_python_ranges(corpus):
    rows = corpus.rows("PythonRangeFlow")
    assert {rows[(s, "linux-64")]["python"] for s in ("start", "end")} == {"3.11"}
    assert corpus.run("python_range").count("python 3.11") == 2


def test_pip_aliases(corpus):
    output = corpus.run("pip")
    assert "six 1.15.0" in output and "six 1.16.0" in output


def test_named_env_by_alias_resolves_nothing(corpus):
    rows = corpus.rows("NamedFlow")
    alias = json.loads(corpus.mfci("lookup", "--alias", "corpus/tools:v1", "--arch", "linux-64", "--json").stdout)
    for step in ("start", "end"):
        assert rows[(step, "linux-64")]["status"] == "hit"
        assert rows[(step, "linux-64")]["env_id"] == alias["env_id"]
    assert corpus.run("named").count("six 1.15.0") == 2


def test_a_missing_alias_fails_warm_with_the_command_to_run(corpus, tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "missing_flow.py").write_text(corpus.flows["named"].read_text().replace("corpus/tools:v1", "corpus/none"))
    done = corpus.mfci("warm", str(flows), "--arch", "linux-64", "--arch", "osx-arm64")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4 and all("--alias corpus/none:latest" in line for line in errors), done.stderr
    assert any("--arch osx-arm64" in line and "step start" in line for line in errors)


def test_fetch_at_exec_sees_the_alias_moved_after_launch(corpus):
    rows = corpus.rows("FetchAtExecFlow")
    assert rows[("moved", "linux-64")]["status"] == "hit"            # the name exists for every arch
    assert rows[("end", "linux-64")]["status"] == "skipped"           # @{METAFLOW_RUN_ID}: only a run knows
    assert "looked up when it runs" in corpus.warm_log
    output = corpus.run("fetch_at_exec")
    assert "moved six 1.16.0" in output                               # latest moved during the run
    assert "run six 1.16.0" in output


def test_task_metadata_lookup_by_pathspec_and_named_env_pathspec(corpus):
    output = corpus.run("conda_only", "--run-id-file", "run-id")
    run_id = (corpus.flows["conda_only"].parent / "run-id").read_text().strip()
    pathspec = f"CondaOnlyFlow/{run_id}/start"
    start = corpus.rows("CondaOnlyFlow")[("start", "linux-64")]
    metadata = subprocess.run(
        [sys.executable, "-c", "import sys; from metaflow import Step; "
         "print(Step(sys.argv[1], _namespace_check=False).task.metadata_dict['conda_env_id'])", pathspec],
        capture_output=True, text=True, env=corpus.env, cwd=corpus.root)
    assert json.loads(metadata.stdout) == [start["spec_id"], start["env_id"], "linux-64"], metadata.stderr
    found = json.loads(corpus.mfci("lookup", "--pathspec", pathspec, "--json").stdout)
    assert found["env_id"] == start["env_id"] and found["arch"] == "linux-64"
    assert "native-tool" in output

    consumer = pathspec_flow(corpus.root / "pathspec", pathspec)
    done = corpus.mfci("warm", str(consumer.parent), "--arch", "linux-64", "--json")
    assert done.returncode == 0, done.stderr
    row = next(e for e in json.loads(done.stdout)["envs"] if e["step"] == "start")
    assert row["status"] == "hit" and row["env_id"] == start["env_id"]
    corpus.flows["pathspec"] = consumer
    assert "six 1.16.0 | native-tool h0_0 linux-64" in corpus.run("pathspec")


def test_debug_conda_logs_lookups_reads_and_install_steps(corpus):
    output = corpus.run("pip", METAFLOW_DEBUG_CONDA="1", METAFLOW_CONDA_MFCI_CACHE_DIR=str(corpus.root / "fresh"))
    debug = [line for line in output.splitlines() if "[mfci debug]" in line]
    assert any("lookup start: spec" in line for line in debug)
    assert any("/latest.json:" in line and "bytes" in line for line in debug)         # pointer read
    assert any("building environment" in line for line in debug)
    assert any("installing" in line and "wheels" in line for line in debug)


@pytest.mark.parametrize("decorators,message", [
    ('@conda(librares={"six": ""})', "step 'start': @conda has no argument 'librares'"),
    ('@pypi(name="team/env", packages={"six": ""})', "step 'start': @pypi(name=...) uses a named environment"),
    ('@named_env(name="team/env")\n    @conda(libraries={"six": ""})', "step 'start': @named_env"),
    ('@named_env(name="a", pathspec="F/1/start")', "step 'start': @named_env takes either 'name' or 'pathspec'"),
    ('@named_env(fetch_at_exec=True)', "step 'start': @named_env(fetch_at_exec=True) needs 'name' or 'pathspec'"),
])
def test_unknown_arguments_and_contradictions_are_one_line(tmp_path, decorators, message):
    from conftest import mfci, run_flow, two_step_flow

    flow = two_step_flow(tmp_path / "flows", "bad_flow", "BadFlow", start=decorators)
    done = mfci("warm", "flows", "--arch", "linux-64")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and len(errors) == 1 and message in errors[0], done.stderr
    ran = run_flow(flow, "--environment=pypi", "run")
    assert ran.returncode != 0 and message in ran.stdout + ran.stderr and "Traceback" not in ran.stderr


def test_a_remote_fetch_at_exec_step_looks_its_name_up_in_its_bootstrap(corpus, tmp_path):
    from test_bootstrap import REMOTE_EXTENSION

    flow = tmp_path / "remote_named_flow.py"
    flow.write_text(corpus.flows["named"].read_text().replace(
        '@named_env(name="corpus/tools:v1")', '@fake_remote\n    @named_env(name="corpus/@{TEAM}:v1", fetch_at_exec=True)'
    ).replace("from metaflow import", "from metaflow import fake_remote,"))
    env = {**corpus.env, "PYTHONPATH": str(REMOTE_EXTENSION)}
    shown = subprocess.run([sys.executable, flow.name, "--environment=pypi", "remotetest", "script", "--step", "start",
                            "--output", "script.json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    [line] = [line for line in json.loads((tmp_path / "script.json").read_text())["lines"] if "mfci.bootstrap" in line]
    assert "--named 'corpus/@{TEAM}:v1'" in line and "--record" not in line    # nothing looked up at launch
    command = line.replace("python -m", f"{sys.executable} -m", 1)
    booted = subprocess.run(["bash", "-c", command], cwd=tmp_path, env={**env, "TEAM": "tools"},
                            capture_output=True, text=True)
    assert booted.returncode == 0, booted.stderr
    alias = json.loads(corpus.mfci("lookup", "--alias", "corpus/tools:v1", "--arch", "linux-64", "--json").stdout)
    assert f"environment {alias['env_id'][:12]} ready" in booted.stderr
    assert "alias corpus/tools:v1 on linux-64" in booted.stderr
