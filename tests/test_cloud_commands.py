"""Every command on every cloud backend, as on the local store: warm → hit → lookup →
create → show, the runtime's placement, and concurrent warms into one root."""

import subprocess
import sys
from dataclasses import asdict

import pytest
from conftest import mfci, mfci_json, run_flow, settings, two_step_flow

from mfci.discover import DiscoveryOptions, dump_flow
from mfci.runtime import place_steps


def test_warm_hit_lookup_create_show(cloud, tmp_path):
    flow = two_step_flow(tmp_path / "flows", "cloud_flow", "CloudFlow", start='@pypi(packages={"six": "1.16.0"})',
                         end='@pypi(packages={"six": "1.15.0"})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert {e["status"] for e in out["envs"]} == {"resolved"} and cloud.root in done.stderr
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0 and {e["status"] for e in out["envs"]} == {"hit"}, done.stderr

    done, found = mfci_json("lookup", str(flow), "--step", "end", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert any(p["name"] == "six" and p["version"] == "1.15.0" for p in found["packages"])

    fresh = {"METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "fresh-cache")}  # every file from the store
    done = mfci("create", str(flow), "--step", "end", "--prefix", str(tmp_path / "env"), env=fresh)
    assert done.returncode == 0, done.stderr
    six = subprocess.run([done.stdout.strip(), "-c", "import six; print(six.__version__)"],
                         capture_output=True, text=True)
    assert six.stdout.strip() == "1.15.0"

    done, shown = mfci_json("show")
    assert done.returncode == 0 and shown["root"] == cloud.root, done.stderr
    assert {(e["flow"], e["step"]) for e in shown["envs"]} == {("CloudFlow", "start"), ("CloudFlow", "end")}

    # What the runtime extension does at launch, with the flow's datastore type.
    report = dump_flow(flow, DiscoveryOptions.of(settings()))
    requests = {r.step: {k: v for k, v in asdict(r).items() if k not in ("file", "flow", "step")}
                for r in report.steps}
    lines = []
    launch = place_steps(settings(), "CloudFlow", requests, lines.append, cloud.name)
    assert launch.missing == {} and set(launch.placements) == {"start", "end"}
    assert all(cloud.root in line for line in lines)


def test_concurrent_warms_into_one_root_lose_no_entry(cloud, tmp_path):
    folder = tmp_path / "flows"
    flows = [two_step_flow(folder, f"flow{n}", f"Concurrent{n}Flow", base='@pypi_base(packages={"six": "1.16.0"})')
             for n in range(8)]
    warms = [subprocess.Popen([sys.executable, "-m", "mfci", "warm", str(flow), "--arch", "linux-64", "--jobs", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for flow in flows]
    for warm in warms:
        _, errors = warm.communicate(timeout=600)
        assert warm.returncode == 0, (warm.returncode, errors)
    done, shown = mfci_json("show")
    assert done.returncode == 0, done.stderr
    assert {e["flow"] for e in shown["envs"]} == {f"Concurrent{n}Flow" for n in range(8)}
    assert len(shown["envs"]) == 16


@pytest.mark.parametrize("cloud_empty", ["s3"], indirect=True)
def test_a_flow_on_the_s3_datastore_runs_without_solving(cloud, tmp_path):
    """Metaflow's own S3 datastore on moto: the store root follows the flow's datastore."""
    flow = two_step_flow(tmp_path / "flows", "s3_flow", "S3Flow", base='@pypi_base(packages={"six": "1.16.0"})')
    assert mfci("warm", "flows", "--arch", "linux-64").returncode == 0
    done = run_flow(flow, "--environment=pypi", "run", env={"METAFLOW_CONDA_MFCI_STRICT": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "[mfci] start: environment" in output and cloud.root in output
    assert "Bootstrapping virtual environment" not in output
