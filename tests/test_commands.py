"""The commands the seed's users reach for, run as a user would: `mfci alias` for several
archs in one call, `--upgrade-package` keeping the other pins, `--refresh` and
`--dry-run`, and CONDA_USE_REMOTE_LATEST=:none: meaning the same to `check` as to a run."""

import json

from conftest import mfci, mfci_json, run_flow, two_step_flow

TWO_ARCHS = ("--arch", "linux-64", "--arch", "osx-arm64")


def test_alias_names_a_steps_environment_for_every_arch_in_one_call(tmp_path, store_root):
    flow = two_step_flow(tmp_path / "flows", "named_flow", "NamedFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    dry = mfci("warm", "flows", *TWO_ARCHS, "--dry-run")
    assert dry.returncode == 0 and "would-resolve" in dry.stderr and not store_root.exists()
    done, warm = mfci_json("warm", "flows", *TWO_ARCHS)
    assert done.returncode == 0, done.stderr
    published = {e["arch"]: e["env_id"] for e in warm["envs"] if e["step"] == "start"}

    named, out = mfci_json("alias", str(flow), "team/six:v1", "--step", "start")
    assert named.returncode == 0, named.stderr
    assert {arch: ref["env_id"] for arch, ref in out["envs"].items()} == published      # both archs, one call
    stored = json.loads((store_root / "envs" / "aliases" / "team" / "six" / "v1.json").read_text())
    assert sorted(stored["envs"]) == ["linux-64", "osx-arm64"]
    copied, _ = mfci_json("alias", "team/six:v1", "team/six-copy")           # an alias of an alias
    found, env = mfci_json("lookup", "--alias", "team/six-copy", "--arch", "osx-arm64")
    assert copied.returncode == found.returncode == 0 and env["env_id"] == published["osx-arm64"]
    missing = mfci("alias", str(flow), "team/six:v2", "--step", "start", "--arch", "osx-64")
    assert missing.returncode == 1 and "osx-64" in missing.stderr and "mfci warm" in missing.stderr
    assert not (store_root / "envs" / "aliases" / "team" / "six" / "v2.json").exists()

    refreshed, again = mfci_json("warm", "flows", "--arch", "linux-64", "--refresh")
    assert refreshed.returncode == 0 and {e["status"] for e in again["envs"]} == {"resolved"}


def test_upgrade_package_moves_one_package_and_keeps_the_other_pins(tmp_path, store_root):
    (tmp_path / "requirements.txt").write_text("requests\n")
    fresh = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64")
    assert fresh.returncode == 0, fresh.stderr
    # Resolved again as of mid-2023 (uv's own cut-off): old versions everywhere, and newer
    # than the first resolution, so the pointer moves to it.
    old, first = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--refresh", "--alias", "team/req",
                           env={"UV_EXCLUDE_NEWER": "2023-06-01T00:00:00Z"})
    assert old.returncode == 0, old.stderr

    def pins():
        _, found = mfci_json("lookup", "--alias", "team/req", "--arch", "linux-64")
        return {p["name"].replace("_", "-"): p["version"] for p in found["packages"]}

    before = pins()
    assert before["requests"] == "2.31.0"
    dry = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--upgrade-package", "idna", "--dry-run")
    assert dry.returncode == 0 and "would-resolve" in dry.stderr and pins() == before
    done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--upgrade-package", "idna",
                          "--alias", "team/req")
    assert done.returncode == 0, done.stderr
    after = pins()
    assert after["idna"] != before["idna"] and tuple(map(int, after["idna"].split(".")[:2])) > (3, 4)
    assert {k: v for k, v in after.items() if k != "idna"} == {k: v for k, v in before.items() if k != "idna"}
    assert out["envs"][0]["env_id"] != first["envs"][0]["env_id"]


def test_under_none_check_agrees_with_a_run(tmp_path):
    flow = two_step_flow(tmp_path / "flows", "none_flow", "NoneFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    assert mfci("warm", "flows", "--arch", "linux-64").returncode == 0
    none = {"METAFLOW_CONDA_USE_REMOTE_LATEST": ":none:", "METAFLOW_CONDA_MFCI_STRICT": "1"}
    checked = mfci("check", "flows", "--arch", "linux-64", env=none)
    assert checked.returncode == 1 and "runs do not consult the store" in checked.stderr
    run = run_flow(flow, "--environment=pypi", "run", env=none)
    assert run.returncode != 0 and "the store" in run.stdout + run.stderr and "was not consulted" in run.stdout + run.stderr
    # once this machine has used them (here: a lookup under :any:), both find them
    for step in ("start", "end"):
        assert mfci("lookup", str(flow), "--step", step, "--arch", "linux-64").returncode == 0
    assert mfci("check", "flows", "--arch", "linux-64", env=none).returncode == 0
