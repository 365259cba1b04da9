"""`mfci diff` on a real git repository: a base commit warmed into the store, a pull
request that changes a pin and adds a step, compared against real PyPI; the comment kept on
the pull request through a loopback stand-in for GitHub's API."""

import os
import subprocess

import pytest
from conftest import mfci, mfci_json, two_step_flow, write_flow
from github_api import github_api

from mfci.envdiff_markdown import MARKER

GIT = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
       "GIT_COMMITTER_EMAIL": "ada@example.com"}
SIX_FLOW = """
from metaflow import FlowSpec, pypi, pypi_base, step

@pypi_base(packages={{"six": "1.16.0"}})
class SixFlow(FlowSpec):
    @step
    def start(self):
        self.next({after_start})
{middle}
    @pypi(packages={{"six": "{end_six}"}})
    @step
    def end(self):
        pass

if __name__ == "__main__":
    SixFlow()
"""
# docopt 0.6.2 is a source distribution only: the diff builds its wheel and keeps it off the store.
MIDDLE = """
    @pypi(packages={"six": "1.14.0", "docopt": "0.6.2"})
    @step
    def middle(self):
        self.next(self.end)
"""


def git(repo, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env={**os.environ, **GIT})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(repo, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def files_of(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def pull_request(tmp_path):
    """acme-flows: main (SixFlow, PlainFlow) warmed for linux-64, then branch feature: SixFlow's
    end pins six 1.14.0 instead of 1.15.0 and a step `middle` (six 1.14.0) is added."""
    repo = tmp_path / "acme-flows"
    write_flow(repo / "flows", "six_flow", SIX_FLOW.format(after_start="self.end", middle="", end_six="1.15.0"))
    two_step_flow(repo / "flows", "plain_flow", "PlainFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    git(repo.parent, "init", "-q", "-b", "main", repo.name)
    base = commit(repo, "flows")
    warm = mfci("warm", "flows", "--arch", "linux-64", cwd=repo)
    assert warm.returncode == 0, warm.stderr
    git(repo, "checkout", "-q", "-b", "feature")
    write_flow(repo / "flows", "six_flow", SIX_FLOW.format(after_start="self.middle", middle=MIDDLE, end_six="1.14.0"))
    commit(repo, "six 1.14 at the end, and a middle step")
    return repo, base


@pytest.mark.network
def test_diff_against_the_warmed_base_writes_nothing_and_keeps_one_comment(pull_request, store_root, tmp_path):
    repo, base = pull_request
    before = files_of(store_root)
    done, result = mfci_json("diff", "flows", "--base", "main", "--arch", "linux-64", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert files_of(store_root) == before    # resolved for the diff only: no package, record, pointer, manifest
    assert result["base"] | {"description": ""} == {"ref": "main", "commit": base, "repository": "acme-flows",
                                                     "source": "manifest", "description": ""}
    changes = {(c["flow"], c["step"]): c for c in result["changes"]}
    assert set(changes) == {("SixFlow", "end"), ("SixFlow", "middle")} and result["unchanged"] == 3
    end, middle = changes["SixFlow", "end"], changes["SixFlow", "middle"]
    assert (end["change"], end["file"], end["arch"]) == ("changed", "flows/six_flow.py", "linux-64")
    assert end["packages"] == {"added": [], "removed": [], "changed": [{"name": "six", "base": "1.15.0", "new": "1.14.0"}]}
    assert end["python"] == {"base": None, "new": None}
    assert middle["change"] == "added" and {"name": "six", "version": "1.14.0"} in middle["packages"]["added"]
    assert {"name": "docopt", "version": "0.6.2"} in middle["packages"]["added"]
    assert middle["python"]["new"].startswith("3.11.") and result["errors"] == []
    # A base commit no warm covered: the latest manifest stands in for it, and the output says which.
    git(repo, "branch", "release", "HEAD")
    _, latest = mfci_json("diff", "flows", "--base", "release", "--arch", "linux-64", cwd=repo)
    assert latest["base"]["source"] == "latest-manifest" and latest["base"]["manifest_ref"] == base
    assert f"a warm of `{base[:12]}`" in latest["base"]["description"]
    # (a wheel built again is other bytes: the added step's environment id differs, its versions do not)
    assert [{**c, "env_id": None} for c in latest["changes"]] == [{**c, "env_id": None} for c in result["changes"]]

    with github_api() as api:
        event = tmp_path / "event.json"
        event.write_text('{"pull_request": {"number": 12}}')
        github = {"GITHUB_TOKEN": api.token, "GITHUB_REPOSITORY": "acme/flows", "GITHUB_API_URL": api.url,
                  "GITHUB_EVENT_PATH": str(event)}
        first = mfci("diff", "flows", "--base", "main", "--arch", "linux-64", "--comment", cwd=repo, env=github)
        assert first.returncode == 0 and "mfci diff: comment created on acme/flows#12" in first.stderr
        assert first.stdout.startswith(f"{MARKER}\n### mfci: this pull request changes 2 step environments\n")
        assert "| `end` | linux-64 | ✏️ changed | six | 1.15.0 | 1.14.0 |" in first.stdout
        [added] = [line for line in first.stdout.splitlines() if line.startswith("| `middle` | linux-64 | ➕ added step |")]
        assert "six 1.14.0" in added and "| python 3.11." in added
        assert [c["body"] for c in api.comments] == [first.stdout]

        # Another push: PlainFlow now pins what SixFlow's end had (published: read, not resolved).
        two_step_flow(repo / "flows", "plain_flow", "PlainFlow", base='@pypi_base(packages={"six": "1.15.0"})')
        commit(repo, "plain flow on six 1.15")
        second = mfci("diff", "flows", "--base", "main", "--arch", "linux-64", "--comment", cwd=repo, env=github)
        assert second.returncode == 0 and "comment updated on acme/flows#12" in second.stderr
        assert "| `end`, `start` |" not in second.stdout and "| `start` | linux-64 | ✏️ changed | six | 1.16.0 | 1.15.0 |" \
            in second.stdout
        assert [c["body"] for c in api.comments] == [second.stdout]    # the same comment, edited in place

        api.read_only = True      # a fork's pull request: its token reads, never writes
        event.write_text('{"pull_request": {"number": 13}}')
        third = mfci("diff", "flows", "--base", "main", "--arch", "linux-64", "--comment", cwd=repo, env=github)
        assert third.returncode == 0 and third.stdout == second.stdout
        warnings = [line for line in third.stderr.splitlines() if "warning" in line]
        assert warnings == ["mfci diff: warning: no pull-request comment: GitHub answered 403 (Resource not "
                            "accessible by integration) to POST /repos/acme/flows/issues/13/comments; the token "
                            "needs `pull-requests: write`"]
        assert [c["body"] for c in api.comments] == [second.stdout]


@pytest.mark.network
def test_without_a_manifest_the_base_is_resolved_from_its_code(pull_request, tmp_path):
    repo, base = pull_request
    empty = tmp_path / "empty-store"
    done, result = mfci_json("diff", "flows", "--base", "main", "--arch", "linux-64", "--root", str(empty), cwd=repo)
    assert done.returncode == 0, done.stderr
    assert result["base"]["source"] == "code" and "has no manifest of `acme-flows`" in result["base"]["description"]
    assert {(c["step"], c["change"]) for c in result["changes"]} == {("end", "changed"), ("middle", "added")}
    assert result["unchanged"] == 3 and files_of(empty) == []
    assert git(repo, "worktree", "list").count("\n") == 0     # the base's worktree is gone
    unknown = mfci("diff", "flows", "--base", "no-such-branch", cwd=repo)
    assert unknown.returncode == 2 and "--base no-such-branch: not a commit" in unknown.stderr
