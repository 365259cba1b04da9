"""`mfci check` (the pull-request gate) and `mfci warm --shard i/n` + `mfci manifest merge`."""

import itertools
import json

import pytest
from conftest import mfci, mfci_json, two_step_flow

from mfci.plan import Shard

SIX = ("1.16.0", "1.15.0", "1.14.0")


def six_flows(folder):
    """Three flows, each of two steps with one environment of its own: three specs."""
    for version in SIX:
        name = version.replace(".", "")
        two_step_flow(folder, f"six{name}_flow", f"Six{name}Flow",
                      base=f'@pypi_base(packages={{"six": "{version}"}}, python="3.11")')
    two_step_flow(folder, "plain_flow", "PlainFlow")
    return folder


def pairs(out, status=None):
    return {(e["spec_id"], e["arch"]) for e in out["envs"] if e["spec_id"] and status in (None, e["status"])}


def test_shard_parse_and_partition():
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard.parse(" 1 / 1 ")) == "1/1"
    for text in ("0/3", "4/3", "3", "a/b", "1/0", "-1/2"):
        with pytest.raises(Exception) as caught:
            Shard.parse(text)
        assert caught.value.exit_code == 2 and text in str(caught.value)
    work = [(f"{i:064x}", arch) for i, arch in itertools.product(range(200), ("linux-64", "osx-arm64"))]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(1, count + 1) if Shard(i, count).owns(*pair)] for pair in work]
        assert all(len(o) == 1 for o in owners), "every pair in exactly one shard"
        if count > 1:
            assert len({o[0] for o in owners}) == count, "every shard gets work"


def test_bad_shard_is_a_usage_error(tmp_path):
    for value in ("0/2", "3/2", "half"):
        done = mfci("warm", str(tmp_path), "--shard", value)
        assert done.returncode == 2 and "--shard" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.network
def test_check_before_and_after_warming(tmp_path, store_root):
    flows = six_flows(tmp_path / "flows")
    args = ("flows", "--arch", "linux-64")
    before, out = mfci_json("check", *args)
    assert before.returncode == 1
    assert {e["status"] for e in out["envs"]} == {"missing", "skipped"}
    assert "missing: flows/six1160_flow.py step start on linux-64" in before.stderr
    assert not store_root.exists() or not any(store_root.rglob("*.json")), "check writes nothing"

    assert mfci("warm", *args).returncode == 0
    after, out = mfci_json("check", *args)
    assert after.returncode == 0, after.stderr
    assert {e["status"] for e in out["envs"]} == {"hit", "skipped"} and out["errors"] == []
    # Another arch was never warmed; a broken flow fails the check too.
    assert mfci("check", *args, "--arch", "osx-arm64").returncode == 1
    two_step_flow(flows, "broken_flow", "BrokenFlow", header="import module_that_does_not_exist")
    broken, out = mfci_json("check", *args)
    assert broken.returncode == 1 and [e["file"] for e in out["errors"]] == ["flows/broken_flow.py"]


@pytest.mark.network
def test_shards_are_disjoint_cover_the_work_and_merge_into_one_manifest(tmp_path, store_root, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/flows")
    monkeypatch.setenv("GITHUB_SHA", "c0ffee" * 6 + "abcd")
    six_flows(tmp_path / "flows")
    args = ("flows", "--arch", "linux-64", "--arch", "osx-arm64")
    _, everything = mfci_json("check", *args)
    work = pairs(everything)
    assert len(work) == 6

    shards = []
    for index in (1, 2, 3):
        done, out = mfci_json("warm", *args, "--shard", f"{index}/3")
        assert done.returncode == 0, done.stderr
        assert out["manifest"].endswith(f"shard-manifests/acme-flows/{'c0ffee' * 6}abcd/{index}-of-3.json")
        shards.append(pairs(out))
        if index == 1:   # not every shard has published yet: the merge says which are missing
            early = mfci("manifest", "merge")
            assert early.returncode == 1 and "2/3, 3/3" in early.stderr
            assert not (store_root / "manifests").exists()
    assert all(not (a & b) for a, b in itertools.combinations(shards, 2)), "no overlap"
    assert set().union(*shards) == work, "no gap"

    merged, out = mfci_json("manifest", "merge")
    assert merged.returncode == 0, merged.stderr
    assert out["manifest"] == (store_root / "manifests" / "acme-flows.json").as_uri() and len(out["parts"]) == 3
    manifest = json.loads((store_root / "manifests" / "acme-flows.json").read_text())
    assert manifest["ref"] == "c0ffee" * 6 + "abcd"
    assert {(e["spec_id"], e["arch"]) for e in manifest["entries"].values()} == work
    _, shown = mfci_json("show")
    assert len(shown["envs"]) == len([e for e in everything["envs"] if e["spec_id"]])
    assert mfci("check", *args).returncode == 0
    again, out = mfci_json("warm", *args, "--shard", "2/3")
    assert again.returncode == 0 and pairs(out) == pairs(out, "hit") == shards[1]
