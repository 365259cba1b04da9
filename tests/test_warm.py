"""`mfci warm` end to end against real PyPI, on real Metaflow flows."""

import json
import shutil

from conftest import EXAMPLES, mfci, mfci_json, serve, simple_index, two_step_flow

OVERRIDE = dict(base='@pypi_base(packages={"six": "1.16.0", "pyyaml": "6.0.2"}, python="3.11")',
                end='@pypi(packages={"six": "1.15.0"})')


def override_flow(folder, **changes):
    return two_step_flow(folder, "override_flow", "OverrideFlow", **{**OVERRIDE, **changes})


def packages_of(store_root, spec_id, arch):
    folder = store_root / "envs" / spec_id / arch
    pointer = json.loads((folder / "latest.json").read_text())
    record = json.loads((folder / f"{pointer['env_id']}.json").read_text())
    return {p["name"]: p["version"] for p in record["packages"]}


def test_examples_warm_for_every_default_arch_then_hit(tmp_path, store_root):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    done, out = mfci_json("warm", "examples")
    assert done.returncode == 0, done.stderr
    assert {e["arch"] for e in out["envs"]} == {"linux-64", "osx-64", "osx-arm64"}
    assert {e["status"] for e in out["envs"]} == {"resolved"} and out["errors"] == []
    assert {(e["flow"], e["step"]) for e in out["envs"]} == {
        ("HelloPyPIFlow", "start"), ("HelloPyPIFlow", "end"), ("ConfiguredFlow", "start"), ("ConfiguredFlow", "end")}
    for entry in out["envs"]:
        assert set(entry) >= {"file", "flow", "step", "arch", "spec_id", "env_id", "status"}
    # Wheels differ per arch: pyyaml is a compiled package.
    hello_start = {e["arch"]: e for e in out["envs"] if e["flow"] == "HelloPyPIFlow" and e["step"] == "start"}
    files = {arch: json.loads((store_root / "envs" / hello_start[arch]["spec_id"] / arch / "latest.json").read_text())
             for arch in ("linux-64", "osx-arm64")}
    assert files["linux-64"]["env_id"] != files["osx-arm64"]["env_id"]
    # Identical environments are resolved once: both ConfiguredFlow steps share one spec.
    configured = {e["spec_id"] for e in out["envs"] if e["flow"] == "ConfiguredFlow" and e["arch"] == "linux-64"}
    assert len(configured) == 1
    assert packages_of(store_root, configured.pop(), "linux-64")["tomli"] == "2.0.1"

    again, out2 = mfci_json("warm", "examples")
    assert again.returncode == 0 and {e["status"] for e in out2["envs"]} == {"hit"}
    assert [e["env_id"] for e in out2["envs"]] == [e["env_id"] for e in out["envs"]]
    # Every wheel is in the store under its source URL's host and path.
    wheels = list((store_root / "packages" / "pypi").rglob("*.whl"))
    assert any(w.name.startswith("PyYAML") or w.name.startswith("pyyaml") for w in wheels)


def test_base_and_step_packages_merge_like_metaflow(tmp_path, store_root):
    override_flow(tmp_path / "flows")
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    by_step = {e["step"]: e for e in out["envs"]}
    start = packages_of(store_root, by_step["start"]["spec_id"], "linux-64")
    end = packages_of(store_root, by_step["end"]["spec_id"], "linux-64")
    assert start["six"] == "1.16.0" and end["six"] == "1.15.0"
    assert "pyyaml" in {n.lower() for n in end} and "requests" in start  # Metaflow's own pin


def test_flows_without_environments_are_skipped(tmp_path):
    two_step_flow(tmp_path / "flows", "plain_flow", "PlainFlow")
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert [e["status"] for e in out["envs"]] == ["skipped", "skipped"]


def test_broken_flows_fail_alone(tmp_path, store_root):
    flows = tmp_path / "flows"
    override_flow(flows)
    (flows / "syntax_flow.py").write_text("from metaflow import FlowSpec\nclass Broken(FlowSpec:\n")
    two_step_flow(flows, "import_flow", "ImportFlow", header="import module_that_does_not_exist")
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 1
    errors = {e["file"].rsplit("/", 1)[-1]: e["message"] for e in out["errors"]}
    assert set(errors) == {"syntax_flow.py", "import_flow.py"}
    assert "module_that_does_not_exist" in errors["import_flow.py"]
    assert "SyntaxError" in errors["syntax_flow.py"] or "syntax" in errors["syntax_flow.py"].lower()
    assert {e["status"] for e in out["envs"]} == {"resolved"}
    assert "Traceback" not in done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 2 and all("flows/" in line for line in error_lines)


def test_unsatisfiable_requirement_names_file_and_step(tmp_path):
    two_step_flow(tmp_path / "flows", "bad_flow", "BadFlow", start='@pypi(packages={"six": "99.0.0"})',
                  end='@pypi(packages={"six": "1.16.0"})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 1
    assert [(e["step"], "six" in e["message"]) for e in out["errors"]] == [("start", True)]
    status = {e["step"]: e["status"] for e in out["envs"]}
    assert status == {"start": "failed", "end": "resolved"}
    line = next(l for l in done.stderr.splitlines() if l.startswith("error:"))
    assert "bad_flow.py step start" in line


def test_several_pythons_and_aarch64(tmp_path):
    override_flow(tmp_path / "flows", base='@pypi_base(packages={"six": "1.16.0"})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-aarch64", "--python", "3.11", "--python", "3.12")
    assert done.returncode == 0, done.stderr
    assert {(e["python"], e["arch"]) for e in out["envs"]} == {("3.11", "linux-aarch64"), ("3.12", "linux-aarch64")}


def test_pip_resolver_and_none(tmp_path, store_root):
    override_flow(tmp_path / "flows")
    done, out = mfci_json("warm", "flows", "--arch", "linux-64",
                          env={"METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER": "pip"})
    assert done.returncode == 0, done.stderr
    record_folder = store_root / "envs" / out["envs"][0]["spec_id"] / "linux-64"
    record = json.loads(next(p for p in record_folder.glob("*.json") if p.stem != "latest").read_text())
    assert record["resolver"] == "pip"
    done = mfci("warm", "flows", "--arch", "osx-64", env={"METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER": "none"})
    assert done.returncode == 1 and "METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=none" in done.stderr


def test_index_credentials_are_used_but_stay_out_of_everything(tmp_path, store_root):
    """A private index that demands credentials: they reach it, and nothing else."""
    import subprocess
    import sys
    from importlib.metadata import version

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--dest", str(wheels),
                    "six==1.16.0", f"uv=={version('uv')}"], check=True, capture_output=True)
    index = simple_index(tmp_path / "index", sorted(wheels.glob("*.whl")))
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    with serve(index, credentials="mfci-user:TOPSECRET") as url:
        private = url.replace("http://", "http://mfci-user:TOPSECRET@") + "/simple"
        done = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--json",
                    env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": private})
        assert done.returncode == 0, done.stderr
        # Without them, and with nothing cached anywhere, the index turns mfci away.
        refused = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--root", str(tmp_path / "other"),
                       env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": url + "/simple", "UV_CACHE_DIR": str(tmp_path / "uv"),
                            "METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "other-cache")})
        assert refused.returncode == 1  # the index really demands them
    assert "TOPSECRET" not in done.stdout + done.stderr + refused.stderr
    records = list(store_root.rglob("*.json"))
    assert records and all("TOPSECRET" not in p.read_text() for p in records)
    assert any(f"{url}/simple" in p.read_text() for p in records)  # the index, without them


def test_usage_errors_exit_2(tmp_path):
    for args in (["warm", "--arch", "linux-32"], ["warm", "no/such/path"], ["warm", "--root", "ftp://x/y"],
                 ["warm", "--python", "three"]):
        done = mfci(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
