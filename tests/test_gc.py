"""`mfci gc` on a real local store: a team changes a flow's requirement and warms again;
the old environment goes, the current ones stay, a gc killed with -9 half-way leaves a store
`mfci verify` passes, and the next gc finishes the job."""

import signal

from conftest import mfci, mfci_json, two_step_flow


def flow(folder, six: str):
    return two_step_flow(folder, "train_flow", "TrainFlow", base=f'@pypi_base(packages={{"six": "{six}"}})')


def test_gc_after_a_requirement_change_killed_half_way_then_finished(tmp_path, store_root):
    flows = tmp_path / "flows"
    two_step_flow(flows, "report_flow", "ReportFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    flow(flows, "1.15.0")
    assert mfci("warm", str(flows), "--arch", "linux-64").returncode == 0
    flow(flows, "1.17.0")  # the requirement changed: the next warm resolves a new spec
    assert mfci("warm", str(flows), "--arch", "linux-64").returncode == 0

    done, young = mfci_json("gc", "--keep-days", "0")  # everything is inside the default hour of grace
    assert done.returncode == 0 and young["removed"] == 0, done.stderr

    done, planned = mfci_json("gc", "--keep-days", "0", "--grace", "0", "--dry-run")
    assert done.returncode == 0, done.stderr
    kinds = sorted({o["kind"] for o in planned["objects"]})
    assert kinds == ["package", "pointer", "record"]
    packages = [o["key"] for o in planned["objects"] if o["kind"] == "package"]
    assert len(packages) == 1 and packages[0].endswith("six-1.15.0-py2.py3-none-any.whl")  # its interpreter is shared
    assert planned["bytes_freed"] == sum(o["size"] for o in planned["objects"]) > 0
    assert all((store_root / o["key"]).is_file() for o in planned["objects"])  # a dry run removes nothing

    killed = mfci("gc", "--keep-days", "0", "--grace", "0", "-j", "1", env={"MFCI_KILL_AT": "gc-deleted:2"})
    assert killed.returncode == -signal.SIGKILL
    checked = mfci("verify")
    assert checked.returncode == 0, checked.stderr

    done, finished = mfci_json("gc", "--keep-days", "0", "--grace", "0")
    assert done.returncode == 0, done.stderr
    assert {o["key"] for o in finished["objects"]} | {o["key"] for o in planned["objects"][:2]} == {
        o["key"] for o in planned["objects"]}
    assert "freed" in done.stderr
    assert not any((store_root / o["key"]).exists() for o in planned["objects"])
    checked = mfci("verify")
    assert checked.returncode == 0, checked.stderr
    for name in ("train_flow", "report_flow"):
        assert mfci("lookup", str(flows / f"{name}.py"), "--step", "end", "--arch", "linux-64").returncode == 0
