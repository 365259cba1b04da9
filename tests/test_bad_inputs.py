"""Every bad input is one line naming the culprit, with the documented exit code:
2 for usage and configuration errors, 1 for work that failed. Never a traceback."""

import json

import pytest
from conftest import mfci, two_step_flow, write_flow

SPEC = "0" * 64
ENV = "1" * 32


@pytest.fixture
def workspace(tmp_path, store_root):
    two_step_flow(tmp_path / "flows", "good_flow", "GoodFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    write_flow(tmp_path / "broken", "syntax_flow", "from metaflow import FlowSpec\nclass Broken(FlowSpec:\n")
    two_step_flow(tmp_path / "broken", "import_flow", "ImportFlow", header="import no_such_module_here")
    two_step_flow(tmp_path / "broken", "config_flow", "ConfigFlow",
                  base='@pypi_base(packages=config_expr("cfg.packages"))',
                  start='cfg = Config("cfg", default="missing.json")')
    two_step_flow(tmp_path, "python3_flow", "PythonThreeFlow", base='@pypi_base(python="3", packages={"six": "1.16.0"})')
    (tmp_path / "bad.txt").write_text("six >=>= 1\n")
    (tmp_path / "bad.yml").write_text("dependencies: [\n")
    (tmp_path / "bad.toml").write_text("[project\n")
    (tmp_path / "ok.txt").write_text("six\n")
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    # A record whose file name would escape the environment folder, behind an alias.
    record = store_root / "envs" / SPEC / "linux-64" / f"{ENV}.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"spec_id": SPEC, "arch": "linux-64", "python": "3.11", "packages": [
        {"name": "evil", "version": "1", "kind": "pypi", "url": "https://x/evil.whl", "filename": "../../evil.whl",
         "sha256": "2" * 64, "size": 1}]}))
    alias = store_root / "envs" / "aliases" / "evil" / "latest.json"
    alias.parent.mkdir(parents=True)
    alias.write_text(json.dumps({"spec_id": SPEC, "envs": {"linux-64": ENV}}))
    return tmp_path


CASES = [
    # (arguments, environment, exit code, text the one line must hold)
    (["warm", "flows", "--arch", "sparc"], {}, 2, "sparc"),
    (["warm", "flows", "--root", "ftp://host/x"], {}, 2, "ftp://"),
    (["warm", "no/such/folder"], {}, 2, "no/such/folder"),
    (["warm", "flows", "--python", "three"], {}, 2, "three"),
    (["warm", "flows", "--python", "3"], {}, 2, "--python '3'"),
    (["warm", "flows", "--python", "3.11.99"], {}, 2, "3.11.99 is not a CPython release"),
    (["check", "flows", "--python", "3.11.99"], {}, 2, "3.11.99"),
    (["warm", "flows"], {"METAFLOW_CONDA_MFCI_PYTHON": "3"}, 2, "METAFLOW_CONDA_MFCI_PYTHON"),
    (["warm", "flows"], {"METAFLOW_CONDA_MFCI_PYTHON": "3.11.99"}, 2, "METAFLOW_CONDA_MFCI_PYTHON"),
    (["warm", "flows", "--shard", "1/99999999999999999999"], {}, 2, "--shard"),
    (["warm", "flows"], {"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": '{"linux-64": {"__glibc": "new"}}'}, 2,
     "METAFLOW_CONDA_SYS_DEFAULT_PACKAGES"),
    (["warm", "flows"], {"METAFLOW_CONDA_PACKAGES_DIRNAME": "../outside"}, 2, "METAFLOW_CONDA_PACKAGES_DIRNAME"),
    (["warm", "flows"], {"METAFLOW_CONDA_ENVS_DIRNAME": "/etc"}, 2, "METAFLOW_CONDA_ENVS_DIRNAME"),
    (["warm", "flows"], {"METAFLOW_CONDA_USE_REMOTE_LATEST": ":user:"}, 2, "METAFLOW_CONDA_USE_REMOTE_LATEST"),
    (["lookup", "flows/good_flow.py", "--step", "start"], {"METAFLOW_USER": "../evil"}, 2, "METAFLOW_USER"),
    (["manifest", "merge"], {"METAFLOW_CONDA_REMOTE_INSTALLER_DIRNAME": "a/../../b"}, 2,
     "METAFLOW_CONDA_REMOTE_INSTALLER_DIRNAME"),
    (["warm", "python3_flow.py", "--arch", "linux-64"], {}, 1, "is not a version X.Y or X.Y.Z"),
    (["warm", "flows", "--jobs", "0"], {}, 2, "--jobs"),
    (["warm", "flows"], {"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": "{not json"}, 2, "METAFLOW_CONDA_SYS_DEFAULT_PACKAGES"),
    (["warm", "flows"], {"METAFLOW_CONDA_LOCK_TIMEOUT": "soon"}, 2, "METAFLOW_CONDA_LOCK_TIMEOUT"),
    (["warm", "flows"], {"METAFLOW_CONDA_USE_REMOTE_LATEST": " "}, 2, "METAFLOW_CONDA_USE_REMOTE_LATEST"),
    (["warm", "flows"], {"METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER": "poetry"}, 2, "METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER"),
    (["warm", "flows"], {"METAFLOW_CONDA_PREFERRED_FORMAT": ".zip"}, 2, "METAFLOW_CONDA_PREFERRED_FORMAT"),
    (["warm", "flows"], {"METAFLOW_CONDA_MFCI_STRICT": "maybe"}, 2, "METAFLOW_CONDA_MFCI_STRICT"),
    (["warm", "flows"], {"METAFLOW_CONDA_ALL_ARCHS": '["win-64"]'}, 2, "win-64"),
    (["warm", "flows"], {"METAFLOW_PROFILE": "nosuchprofile"}, 2, "nosuchprofile"),
    (["warm", "flows"], {"METAFLOW_CONDA_LOCALROOT": "{tmp}/a-file"}, 2, "a-file"),
    (["warm", "flows"], {"METAFLOW_CONDA_LOCALROOT": "", "METAFLOW_DEFAULT_DATASTORE": "hdfs"}, 2, "hdfs"),
    (["warm", "broken/syntax_flow.py", "--arch", "linux-64"], {}, 1, "SyntaxError"),
    (["warm", "broken/import_flow.py", "--arch", "linux-64"], {}, 1, "no_such_module_here"),
    (["warm", "broken/config_flow.py", "--arch", "linux-64"], {}, 1, "missing.json"),
    (["resolve", "-r", "bad.txt"], {}, 2, "bad.txt:1"),
    (["resolve", "-f", "bad.yml"], {}, 2, "bad.yml"),
    (["resolve", "-p", "bad.toml"], {}, 2, "bad.toml"),
    (["resolve", "-r", "missing.txt"], {}, 2, "missing.txt"),
    (["resolve"], {}, 2, "exactly one of"),
    (["resolve", "-r", "ok.txt", "-f", "bad.yml"], {}, 2, "exactly one of"),
    (["resolve", "-r", "ok.txt", "--alias", "Bad Name"], {}, 2, "Bad Name"),
    (["lookup", "flows/good_flow.py", "--step", "nope"], {}, 2, "nope"),
    (["lookup", "flows/good_flow.py"], {}, 2, "--step"),
    (["lookup", "flows/no_flow.py", "--step", "start"], {}, 2, "no_flow.py"),
    (["lookup", "flows/good_flow.py", "--step", "start", "--arch", "linux-32"], {}, 2, "linux-32"),
    (["lookup", "broken/import_flow.py", "--step", "start"], {}, 1, "no_such_module_here"),
    (["lookup", "--alias", "nosuch:v1"], {}, 1, "nosuch:v1"),
    (["lookup", "--alias", "evil", "--arch", "linux-64"], {}, 1, "not a valid environment record"),
    (["lookup", "--alias", "x", "--step", "start"], {}, 2, "not both"),
    (["create", "--alias", "evil", "--prefix", "{tmp}/env"], {}, 1, "not a valid environment record"),
    (["create", "flows/good_flow.py", "--step", "start"], {}, 2, "--prefix"),
    (["show", "--root", "ftp://host/x"], {}, 2, "ftp://"),
    (["verify", "--root", "{tmp}/a-file"], {}, 2, "a-file"),
    (["nosuchcommand"], {}, 2, "nosuchcommand"),
]


@pytest.mark.parametrize("args,env,code,text", CASES, ids=[" ".join(c[0])[:40] + str(i) for i, c in enumerate(CASES)])
def test_bad_input(workspace, args, env, code, text):
    fill = lambda value: value.replace("{tmp}", str(workspace))
    done = mfci(*map(fill, args), env={k: fill(v) for k, v in env.items()}, cwd=workspace)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    failure_lines = [l for l in done.stderr.splitlines() if l.startswith(("mfci: error:", "error:", "Error:"))]
    assert failure_lines and any(text in l for l in failure_lines), done.stderr
    if code == 2:
        assert len(failure_lines) == 1, done.stderr


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25
