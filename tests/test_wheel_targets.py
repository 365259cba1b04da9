"""Which wheels fit a target, against real PyPI (issue 11): today's numeric stack resolves
for Apple silicon with the default deployment target and nothing is built; a target older
than every wheel of a version is one line saying what exists; a requirement published as
source only is built once per store, and the next warm reuses the build."""

import json

from conftest import mfci_json, two_step_flow

NUMERIC = '@pypi_base(packages={"pandas": "2.2.3", "scikit-learn": "1.5.2"}, python="3.11")'


def record(store_root, spec_id, arch):
    folder = store_root / "envs" / spec_id / arch
    env_id = json.loads((folder / "latest.json").read_text())["env_id"]
    return json.loads((folder / f"{env_id}.json").read_text())


def test_pandas_and_scikit_learn_for_apple_silicon_need_no_build(tmp_path, store_root):
    two_step_flow(tmp_path / "flows", "train_flow", "TrainFlow", base=NUMERIC)
    done, out = mfci_json("warm", "flows", "--arch", "osx-arm64", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert "building" not in done.stderr
    start = next(e for e in out["envs"] if e["step"] == "start" and e["arch"] == "osx-arm64")
    wheels = {p["name"]: p["filename"] for p in record(store_root, start["spec_id"], "osx-arm64")["packages"]}
    assert wheels["scikit-learn"] == "scikit_learn-1.5.2-cp311-cp311-macosx_12_0_arm64.whl"

    # A target older than every arm64 wheel of the version: one line saying so, nothing
    # built; Linux, whose virtual packages did not move, keeps its published environment.
    older = {"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": '{"osx-arm64": {"__osx": "11.0"}}'}
    done, out = mfci_json("warm", "flows", "--arch", "osx-arm64", "--arch", "linux-64", env=older)
    assert done.returncode == 1 and "building" not in done.stderr
    assert {(e["arch"], e["status"]) for e in out["envs"]} == {("osx-arm64", "failed"), ("linux-64", "hit")}
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: flows/train_flow.py step {step}: TrainFlow on osx-arm64: scikit-learn 1.5.2 has arm64 wheels for "
        "macOS ≥ 12.0 only; osx-arm64 targets macOS 11.0; set "
        """METAFLOW_CONDA_SYS_DEFAULT_PACKAGES='{"osx-arm64": {"__osx": "12.0"}}' to accept them"""
        for step in ("end", "start")]


def test_a_source_build_is_published_and_reused_by_the_next_warm(tmp_path, store_root):
    # docopt 0.6.2 is published as a source distribution only (pure Python).
    two_step_flow(tmp_path / "first", "cli_flow", "CliFlow", base='@pypi_base(packages={"docopt": "0.6.2"})')
    done, out = mfci_json("warm", "first", "--arch", "linux-64", "--arch", "osx-arm64")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("building docopt 0.6.2 from source for python 3.11") == 1
    [pointer] = (store_root / "packages" / "builds").rglob("*.json")
    built = json.loads(pointer.read_text())["package"]

    # Another flow, another machine (a fresh local cache), the same store: no build.
    two_step_flow(tmp_path / "second", "other_flow", "OtherFlow",
                  base='@pypi_base(packages={"docopt": "0.6.2", "six": "1.16.0"})')
    done, out = mfci_json("warm", "second", "--arch", "linux-64",
                          env={"METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "fresh-cache")})
    assert done.returncode == 0 and {e["status"] for e in out["envs"]} == {"resolved"}, done.stderr
    assert "building" not in done.stderr
    used = {p["name"]: p for p in record(store_root, out["envs"][0]["spec_id"], "linux-64")["packages"]}
    assert used["docopt"]["sha256"] == built["sha256"] and used["docopt"]["filename"].endswith("-none-any.whl")
    verified, report = mfci_json("verify")
    assert verified.returncode == 0 and report["violations"] == [], verified.stderr
