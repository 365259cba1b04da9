"""Fast unit layer for `mfci diff`: comparing two sides of records, the markdown of it,
the base's side from a manifest in an in-memory store, and the pull-request comment
against a loopback stand-in for GitHub's API."""

import hashlib
import json

import pytest
from github_api import github_api
from memory_store import MemoryStore

from mfci.config import Settings
from mfci.diff import manifest_side
from mfci.envdiff import StepEnv, compare
from mfci.envdiff_markdown import MARKER, markdown
from mfci.github import CommentFailed, PullRequest, keep_comment
from mfci.objects import Manifest
from mfci.plan import PlanOptions
from mfci.record import EnvRecord, PackageFile

BASE = {"ref": "main", "commit": "a" * 40, "source": "manifest", "description": "`main` (`aaaaaaaaaaaa`)"}


def package(name: str, version: str, kind: str = "pypi") -> PackageFile:
    filename = {"pypi": f"{name}-{version}-py3-none-any.whl", "conda": f"{name}-{version}-h0_0.conda",
                "python": f"cpython-{version}-x86_64-unknown-linux-gnu-install_only.tar.gz"}[kind]
    return PackageFile(name, version, kind, f"https://files.example/{filename}", filename,
                       hashlib.sha256(filename.encode()).hexdigest(), 100)


def record(arch: str, python: str, *packages: PackageFile) -> EnvRecord:
    return EnvRecord("0" * 64, arch, python[:4], (package("python", python, "python"), *packages))


def env(step: str, arch: str, rec: EnvRecord | None, flow: str = "TrainFlow", file: str = "flows/train.py"):
    return StepEnv(file, flow, step, arch, "3.11", rec)


def test_packages_interpreters_and_steps_added_or_removed():
    six, pandas = package("six", "1.16.0"), package("pandas", "2.1.4")
    same = record("linux-64", "3.11.9", six)
    base = [env("start", arch, record(arch, "3.11.9", six, pandas, package("pytz", "2024.1"))) for arch in
            ("linux-64", "osx-arm64")] + [env("end", "linux-64", same), env("old", "linux-64", same)]
    new = [env("start", arch, record(arch, "3.12.4", six, package("pandas", "2.2.2"), package("pyarrow", "16.1.0"),
                                     package("zstd", "1.5.6", "conda"))) for arch in ("linux-64", "osx-arm64")]
    new += [env("end", "linux-64", same), env("train", "linux-64", record("linux-64", "3.11.9", six))]

    diff = compare(base, new, BASE)
    assert diff.unchanged == 1 and diff.errors == []
    by_step = {(c.step, c.arch): c for c in diff.changes}
    assert set(by_step) == {("start", "linux-64"), ("start", "osx-arm64"), ("old", "linux-64"), ("train", "linux-64")}
    start = by_step["start", "linux-64"]
    assert (start.change, start.base_python, start.python) == ("changed", "3.11.9", "3.12.4")
    assert start.changed == (("pandas", "2.1.4", "2.2.2"),)
    assert start.added == (("pyarrow", "16.1.0"), ("zstd (conda)", "1.5.6")) and start.removed == (("pytz", "2024.1"),)
    assert by_step["old", "linux-64"].change == "removed" and by_step["old", "linux-64"].removed == (("six", "1.16.0"),)
    assert by_step["train", "linux-64"].change == "added" and by_step["train", "linux-64"].python == "3.11.9"
    [started] = [c for c in json.loads(json.dumps(diff.to_json()))["changes"] if c["step"] == "start"][:1]
    assert started["packages"]["changed"] == [{"name": "pandas", "base": "2.1.4", "new": "2.2.2"}]
    assert started["python"] == {"base": "3.11.9", "new": "3.12.4"}

    text = markdown(diff)
    assert text.startswith(MARKER + "\n### mfci: this pull request changes 3 step environments\n")
    assert "Compared with `main` (`aaaaaaaaaaaa`)." in text and "1 other step environment (per arch) unchanged." in text
    assert "**TrainFlow** (`flows/train.py`)" in text and "<details>" not in text
    # The same change on two archs is one row naming both.
    assert "| `start` | linux-64, osx-arm64 | ✏️ changed | pandas | 2.1.4 | 2.2.2 |" in text
    assert "| `start` | linux-64, osx-arm64 | 🐍 interpreter | python | 3.11.9 | 3.12.4 |" in text
    assert "| `start` | linux-64, osx-arm64 | ➖ removed | pytz | 2024.1 |  |" in text
    assert "| `train` | linux-64 | ➕ added step | six 1.16.0 |  | python 3.11.9; 1 package |" in text
    assert "| `old` | linux-64 | ➖ removed step | six 1.16.0 | python 3.11.9; 1 package |  |" in text


def test_a_long_flow_is_collapsed_and_a_rebuilt_file_is_no_change():
    many = [package(f"pkg{i}", "1.0") for i in range(20)]
    diff = compare([env("start", "linux-64", record("linux-64", "3.11.9"))],
                   [env("start", "linux-64", record("linux-64", "3.11.9", *many))], BASE)
    text = markdown(diff)
    assert "<details><summary>**TrainFlow** (`flows/train.py`): 20 changes</summary>" in text

    wheel, rebuilt = package("six", "1.16.0"), package("six", "1.16.0")
    rebuilt = PackageFile(**{**rebuilt.to_json(), "sha256": "f" * 64})
    same = compare([env("start", "linux-64", record("linux-64", "3.11.9", wheel))],
                   [env("start", "linux-64", record("linux-64", "3.11.9", rebuilt))], BASE)
    assert same.changes == [] and same.unchanged == 1
    assert markdown(same).splitlines()[1] == "### mfci: no step environment changes"
    lost = compare([env("start", "linux-64", None)], [], BASE)
    assert lost.changes == [] and "not in the store" in lost.errors[0]["message"]


def test_base_side_reads_the_manifest_entries_under_the_paths_and_archs(tmp_path):
    settings = Settings.load({"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ci"})
    store = MemoryStore()
    rec = record("linux-64", "3.11.9", package("six", "1.16.0"))
    store.create(settings.layout.record(rec.spec_id, rec.arch, rec.env_id), rec.to_bytes())
    entry = {"flow": "TrainFlow", "step": "start", "arch": "linux-64", "python": "3.11", "spec_id": rec.spec_id,
             "env_id": rec.env_id}
    manifest = Manifest("acme-flows", "a" * 40, {
        "a": {**entry, "file": "flows/train.py"}, "b": {**entry, "file": "flows/train.py", "arch": "osx-arm64"},
        "c": {**entry, "file": "other/train.py"}, "d": {**entry, "file": "flows2/train.py"}})
    options = PlanOptions([str(tmp_path / "flows")], ["linux-64"], ["3.11"], 2)
    [found] = manifest_side(store, settings, manifest, options, str(tmp_path))
    assert (found.key, found.record) == (("flows/train.py", "TrainFlow", "start", "linux-64"), rec)


def event_file(tmp_path, number=7):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": number}}))
    return str(path)


def test_one_comment_is_kept_up_to_date_and_a_read_only_token_is_one_failure(tmp_path):
    with github_api() as api:
        environ = {"GITHUB_TOKEN": api.token, "GITHUB_REPOSITORY": "acme/flows", "GITHUB_API_URL": api.url,
                   "GITHUB_EVENT_PATH": event_file(tmp_path)}
        pull = PullRequest.from_environ(environ)
        # Someone else's comments first, more than one page of them.
        api.comments += [{"id": i, "issue": 7, "body": f"looks good {i}"} for i in range(150)]
        assert keep_comment(pull, f"{MARKER}\nfirst", MARKER) == "created"
        assert keep_comment(pull, f"{MARKER}\nsecond", MARKER) == "updated"
        assert keep_comment(pull, f"{MARKER}\nsecond", MARKER) == "unchanged"
        ours = [c for c in api.comments if MARKER in c["body"]]
        assert [c["body"] for c in ours] == [f"{MARKER}\nsecond"] and len(api.comments) == 151
        assert ("PATCH", f"/repos/acme/flows/issues/comments/{ours[0]['id']}") in api.requests

        api.read_only = True
        with pytest.raises(CommentFailed) as failed:
            keep_comment(pull, f"{MARKER}\nthird", MARKER)
        assert str(failed.value) == ("GitHub answered 403 (Resource not accessible by integration) to PATCH "
                                     f"/repos/acme/flows/issues/comments/{ours[0]['id']}; the token needs "
                                     "`pull-requests: write`")
    with pytest.raises(CommentFailed, match="GITHUB_TOKEN not set"):
        PullRequest.from_environ({**environ, "GITHUB_TOKEN": ""})
    with pytest.raises(CommentFailed, match="not a pull request"):
        PullRequest.from_environ({**environ, "GITHUB_EVENT_PATH": str(tmp_path / "push.json")})


def test_steps_warmed_for_several_pythons_are_compared_python_by_python():
    six = package("six", "1.16.0")
    base = [StepEnv("f.py", "F", "start", "linux-64", python, record("linux-64", f"{python}.1", six))
            for python in ("3.11", "3.12")]
    new = [StepEnv("f.py", "F", "start", "linux-64", "3.12", record("linux-64", "3.12.1", package("six", "1.17.0")))]
    diff = compare(base, new, BASE)
    assert [(c.step, c.change) for c in diff.changes] == [("start (python 3.11)", "removed"),
                                                           ("start (python 3.12)", "changed")]
