"""Metaflow itself, at run time, on environments mfci published."""

import shutil

from conftest import EXAMPLES, mfci, run_flow, two_step_flow

STRICT = {"METAFLOW_CONDA_MFCI_STRICT": "1"}


def warmed_example(tmp_path, name):
    shutil.copytree(EXAMPLES / name, tmp_path / name)
    done = mfci("warm", name, "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    return tmp_path / name


def test_warmed_flows_run_without_any_solver(tmp_path):
    hello = warmed_example(tmp_path, "hello") / "hello_flow.py"
    for environment in ("pypi", "conda"):
        done = run_flow(hello, f"--environment={environment}", "run", env=STRICT)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert "[mfci] start: environment" in output and "[mfci] end: environment" in output
        assert "{'hello': 'mfci'} six 1.16.0" in output
        assert "Bootstrapping virtual environment" not in output  # Metaflow's own solver path


def test_config_driven_flow_runs(tmp_path):
    configured = warmed_example(tmp_path, "configured") / "configured_flow.py"
    done = run_flow(configured, "--environment=pypi", "run", env=STRICT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tomli and packaging" in done.stdout + done.stderr


def test_strict_mode_names_the_unwarmed_step_else_mfci_resolves_it_at_launch(tmp_path):
    flow = two_step_flow(tmp_path / "cold", "cold_flow", "ColdFlow", start='@pypi(packages={"six": "1.16.0"})')
    done = run_flow(flow, "--environment=pypi", "run", env=STRICT)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "step 'end'" in output or "step 'start'" in output
    assert "mfci warm" in output and "Traceback" not in output

    # Not strict: mfci resolves it as `mfci warm` would and publishes it; no micromamba.
    launched = run_flow(flow, "--environment=pypi", "run")
    output = launched.stdout + launched.stderr
    assert launched.returncode == 0, output
    assert "start: not warmed" in output and "resolving it now" in output
    assert "Bootstrapping virtual environment" not in output and "micromamba" not in output
    again = run_flow(flow, "--environment=pypi", "run", env=STRICT)  # published: the next launch finds it
    assert again.returncode == 0 and "not warmed" not in again.stdout + again.stderr
