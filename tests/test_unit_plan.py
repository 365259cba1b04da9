"""Fast unit layer: the work list from discovered flows, shards, layout keys, environment files."""

import pytest

from mfci.discover import FlowReport
from mfci.envfile import read_environment_file
from mfci.errors import UsageError
from mfci.layout import Layout
from mfci.plan import make_plan
from mfci.pythons import KnownPythons
from mfci.shard import Shard
from mfci.spec import SpecInputs, StepRequirement
from mfci.status import Status

INPUTS = SpecInputs("3.11", {}, {})
KNOWN = KnownPythons(frozenset({"3.10.13", "3.11.7", "3.11.9", "3.12.1"}))


def step(name, python=None, uses=True, flow="F", file="f.py", six="1.16.0"):
    return StepRequirement(file, flow, name, pypi={"six": six}, python=python, uses_environment=uses)


def test_rows_share_one_pair_per_spec_and_arch():
    report = FlowReport("f.py", "F", (step("a"), step("b"), step("c", six="1.15.0"), step("d", uses=False)))
    plan = make_plan([report], ["linux-64", "osx-arm64"], ["3.11"], INPUTS, KNOWN)
    assert len(plan.rows) == 8 and len(plan.specs) == 4
    assert [r.status for r in plan.rows if r.requirement.step == "d"] == [Status.SKIPPED] * 2
    assert not plan.errors


def test_a_flows_bad_python_fails_its_rows_only():
    good, bad, unreal = step("good"), step("bad", python="3"), step("unreal", python="3.11.99")
    plan = make_plan([FlowReport("f.py", "F", (good, bad, unreal))], ["linux-64"], ["3.11"], INPUTS, KNOWN)
    statuses = {r.requirement.step: r.status for r in plan.rows}
    assert statuses == {"good": Status.PENDING, "bad": Status.FAILED, "unreal": Status.FAILED}
    messages = {e["step"]: e["message"] for e in plan.errors}
    assert "'3' is not a version X.Y or X.Y.Z" in messages["bad"]
    assert "3.11.99 is not a CPython release" in messages["unreal"]


def test_known_pythons_take_minor_and_exact_versions():
    assert KNOWN.check("3.12") == "3.12" and KNOWN.check("3.11.9") == "3.11.9"
    for bad in ("3", "3.14", "3.11.99", "three", "3.11.*"):
        with pytest.raises(ValueError):
            KNOWN.check(bad)


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/99999999999999999999", "1/1001", "x/y", "1-2"])
def test_a_bad_shard_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--shard"):
        Shard.parse(text)


def test_shards_split_pairs_without_overlap_or_gap():
    pairs = [(f"{n:064x}", arch) for n in range(200) for arch in ("linux-64", "osx-arm64")]
    owners = [[s for s in range(1, 4) if Shard(s, 3).owns(*pair)] for pair in pairs]
    assert all(len(owner) == 1 for owner in owners)


def test_layout_keys_stay_inside_their_folders():
    layout = Layout(packages="pkgs", envs="environments")
    assert layout.record("s", "linux-64", "e") == "environments/s/linux-64/e.json"
    assert layout.user_pointer("s", "linux-64", "alice@example.com") == "environments/s/linux-64/users/alice@example.com.json"
    with pytest.raises(ValueError):
        layout.package("pypi/../../escape")


def test_environment_files_become_the_same_requirement_as_a_step(tmp_path):
    (tmp_path / "requirements.txt").write_text("six==1.16.0  # pinned\n--conda-pkg numpy>=1.26\n")
    (tmp_path / "environment.yml").write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n"
                                              "  - numpy>=1.26\n  - pip:\n    - six==1.16.0\n")
    from_txt = read_environment_file(tmp_path / "requirements.txt", "requirements", {})
    from_yml = read_environment_file(tmp_path / "environment.yml", "environment", {})
    assert from_txt.pypi == from_yml.pypi == {"six==1.16.0": ""}
    assert from_txt.conda == from_yml.conda == {"numpy": ">=1.26"} and from_yml.python == "3.11.*"
