"""Conda and mixed environments: py-rattler against a channel the tests build, uv for PyPI."""

import json
import subprocess
import sys

import pytest
from conftest import mfci, mfci_json, run_flow, serve, two_step_flow

STRICT = {"METAFLOW_CONDA_MFCI_STRICT": "1"}


def record_of(store_root, entry):
    folder = store_root / "envs" / entry["spec_id"] / entry["arch"]
    return json.loads((folder / f"{entry['env_id']}.json").read_text())


def names(record):
    return {p["filename"] for p in record["packages"]}


def test_conda_flow_every_arch_gpu_build_and_run(tmp_path, store_root, channel_env):
    flow = two_step_flow(
        tmp_path / "flows", "conda_flow", "CondaFlow",
        base='@conda_base(packages={"six": "1.17.0"})',
        start='@conda(packages={"native-tool": ""})',
        end='@resources(gpu=1)\n    @conda(packages={"gpu-app": ""})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--arch", "osx-arm64", "--arch", "osx-64")
    by = {(e["step"], e["arch"]): e for e in out["envs"]}
    # Foreign archs solve from linux, with their own python and native builds.
    for arch in ("osx-arm64", "osx-64", "linux-64"):
        assert by[("start", arch)]["status"] == "resolved"
        record = record_of(store_root, by[("start", arch)])
        assert any(p["url"].endswith(f"/{arch}/native-tool-1.0-h0_0.conda") for p in record["packages"])
        assert all(p["kind"] == "conda" and len(p["md5"]) == 32 for p in record["packages"])
    # The GPU step gets the cuda build on linux (CONDA_SYS_DEFAULT_GPU_PACKAGES); osx has no gpu-app.
    assert "gpu-app-1.0-cuda_1.conda" in names(record_of(store_root, by[("end", "linux-64")]))
    assert done.returncode == 1
    failure = next(e for e in out["errors"] if "osx-arm64" in e["message"])
    assert failure["step"] == "end" and "CondaFlow" in failure["message"] and "gpu-app" in failure["message"]

    run = run_flow(flow, "--environment=conda", "run", env=STRICT)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "[mfci] start: environment" in output and "Bootstrapping virtual environment" not in output


def test_cpu_build_without_gpu(tmp_path, store_root, channel_env):
    two_step_flow(tmp_path / "flows", "cpu_flow", "CpuFlow", base='@conda_base(packages={"gpu-app": ""})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert "gpu-app-1.0-cpu_0.conda" in names(record_of(store_root, out["envs"][0]))


def test_unsatisfiable_glibc_is_one_clear_line(tmp_path, channel_env):
    two_step_flow(tmp_path / "flows", "glibc_flow", "GlibcFlow", start='@conda(packages={"needs-new-glibc": ""})')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 1
    line = next(l for l in done.stderr.splitlines() if l.startswith("error:"))
    assert "glibc_flow.py step start" in line and "GlibcFlow on linux-64" in line and "__glibc" in line
    ok = mfci("warm", "flows", "--arch", "linux-64",
              env={"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": '{"linux-64": {"__glibc": "2.35"}}'})
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("preferred,converted", [(".conda", "only-bz2-1.0-h0_0.conda"),
                                                 (".tar.bz2", "only-conda-1.0-h0_0.tar.bz2")])
def test_preferred_format_is_converted_stored_and_installed(tmp_path, store_root, channel_env, preferred, converted):
    flow = two_step_flow(tmp_path / "flows", "fmt_flow", "FmtFlow",
                         start='@conda(packages={"only-bz2": "", "only-conda": ""})')
    # The same resolution without a preferred format, elsewhere: conversion is not
    # byte-reproducible, so the environment id must not depend on it.
    plain, plain_out = mfci_json("warm", "flows", "--arch", "linux-64", "--root", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    env = {"METAFLOW_CONDA_PREFERRED_FORMAT": preferred}
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", env=env)
    assert done.returncode == 0, done.stderr
    start = next(e for e in out["envs"] if e["step"] == "start")
    assert start["env_id"] == next(e for e in plain_out["envs"] if e["step"] == "start")["env_id"]
    record = record_of(store_root, start)
    installed = {p.get("converted", p)["filename"] for p in record["packages"]}
    assert converted in installed and all(name.endswith(preferred) for name in installed)
    originals = {p.name for p in (store_root / "packages").rglob("only-*") if p.is_file()}
    assert {"only-bz2-1.0-h0_0.tar.bz2", "only-conda-1.0-h0_0.conda", converted} <= originals
    prefix = tmp_path / "env"
    created = mfci("create", str(flow), "--step", "start", "--prefix", str(prefix), env=env)
    assert created.returncode == 0, created.stderr
    meta = json.loads(next((prefix / "conda-meta").glob(converted.split("-1.0")[0] + "-*.json")).read_text())
    assert (prefix / "bin" / converted.split("-1.0")[0]).is_file() and meta["name"]


def test_http_channel_and_credentials_scrubbed(tmp_path, store_root, http_channel):
    user_url = http_channel.replace("http://", "http://ci:TOPSECRET@")
    two_step_flow(tmp_path / "flows", "http_flow", "HttpFlow", start='@conda(packages={"six": ""})')
    done = mfci("warm", "flows", "--arch", "linux-64", "--json", env={"METAFLOW_CONDA_CHANNELS": user_url})
    assert done.returncode == 0, done.stderr
    assert "TOPSECRET" not in done.stdout + done.stderr
    assert all("TOPSECRET" not in p.read_text() for p in store_root.rglob("*.json"))
    assert any("six-1.17.0" in str(p) for p in (store_root / "packages" / "conda").rglob("*.conda"))


def test_corrupted_conda_archive_is_never_installed(tmp_path, store_root, conda_channel):
    flow = two_step_flow(tmp_path / "flows", "bad_flow", "BadFlow", start='@conda(packages={"native-tool": ""})')
    with serve(conda_channel) as url:  # the source goes away once warmed
        assert mfci("warm", "flows", "--arch", "linux-64", env={"METAFLOW_CONDA_CHANNELS": url}).returncode == 0
    for archive in (store_root / "packages").rglob("native-tool-1.0-h0_0.conda"):
        archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    prefix = tmp_path / "env"
    done = mfci("create", str(flow), "--step", "start", "--prefix", str(prefix),
                env={"METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "fresh-cache"), "METAFLOW_CONDA_CHANNELS": url})
    assert done.returncode == 1 and "native-tool-1.0-h0_0.conda" in done.stderr and "sha256" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (prefix / "bin" / "native-tool").exists()
    assert "native-tool-1.0-h0_0.conda" in mfci("verify").stderr


def test_mixed_environment_file_imports_both_sides(tmp_path, conda_channel):
    (tmp_path / "environment.yml").write_text(f"""
channels:
  - {conda_channel.as_uri()}
  - nodefaults
dependencies:
  - python=3.11
  - six=1.17
  - pip:
    - pyyaml==6.0.2
    - six>=1.10
""")
    done, out = mfci_json("resolve", "-f", "environment.yml", "--arch", "linux-64", "--arch", "osx-arm64",
                          "--alias", "team/mixed:v1")
    assert done.returncode == 0, done.stderr
    assert out["aliases"] == ["team/mixed:v1"] and {e["status"] for e in out["envs"]} == {"resolved"}
    lookup, found = mfci_json("lookup", "--alias", "team/mixed:v1", "--arch", "linux-64")
    kinds = {(p["name"], p["kind"]) for p in found["packages"]}
    assert ("six", "conda") in kinds and ("pyyaml", "pypi") in kinds and ("six", "pypi") not in kinds
    prefix = tmp_path / "env"
    created = mfci("create", "--alias", "team/mixed:v1", "--prefix", str(prefix))
    assert created.returncode == 0, created.stderr
    imported = subprocess.run([created.stdout.strip(), "-c", "import six, yaml; print(six.__version__, yaml.__version__)"],
                              capture_output=True, text=True)
    assert imported.stdout.split() == ["1.17.0", "6.0.2"]


def test_requirement_files_and_alias_immutability(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        '# comment\nsix==1.16.0 ; python_version >= "3.8"\nrequests[socks]>=2.31,<3  # inline\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["six==1.15.0"]\n')
    first = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--alias", "team/env:v1", "--alias", "team/env")
    assert first.returncode == 0, first.stderr
    again = mfci("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--alias", "team/env:v1")
    assert again.returncode == 0, again.stderr          # same target: nothing changes
    moved = mfci("resolve", "-p", "pyproject.toml", "--arch", "linux-64", "--alias", "team/env")
    assert moved.returncode == 0, moved.stderr          # latest moves
    refused = mfci("resolve", "-p", "pyproject.toml", "--arch", "linux-64", "--alias", "team/env:v1")
    assert refused.returncode == 1 and "immutable" in refused.stderr
    _, v1 = mfci_json("lookup", "--alias", "team/env:v1", "--arch", "linux-64")
    _, latest = mfci_json("lookup", "--alias", "team/env", "--arch", "linux-64")
    assert {p["name"]: p["version"] for p in v1["packages"]}["six"] == "1.16.0"
    assert {p["name"]: p["version"] for p in latest["packages"]}["six"] == "1.15.0"


@pytest.mark.parametrize("args", [
    ["resolve", "-r", "missing.txt"],
    ["resolve"],
    ["resolve", "-r", "bad.txt"],
    ["resolve", "-f", "bad.yml"],
    ["resolve", "-r", "ok.txt", "--alias", "Bad Name"],
    ["lookup", "--alias", "x", "--step", "start"],
])
def test_bad_environment_inputs_exit_2(tmp_path, args):
    (tmp_path / "bad.txt").write_text("six >=>= 1.0\n")
    (tmp_path / "bad.yml").write_text("dependencies: [\n")
    (tmp_path / "ok.txt").write_text("six\n")
    done = mfci(*args)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_configured_conda_binary_keeps_the_seed_meaning(tmp_path, store_root, channel_env):
    """CONDA_DEPENDENCY_RESOLVER=micromamba uses that binary when present (a stand-in here)."""
    import os
    import shutil
    import sys
    from pathlib import Path

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "micromamba"
    fake.write_text(f"#!{sys.executable}\n" + (Path(__file__).parent / "fake_micromamba.py").read_text())
    fake.chmod(0o755)
    two_step_flow(tmp_path / "flows", "bin_flow", "BinFlow", start='@conda(packages={"native-tool": ""})')
    log = tmp_path / "call.json"
    env = {"METAFLOW_CONDA_DEPENDENCY_RESOLVER": "micromamba", "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "FAKE_MICROMAMBA_LOG": str(log)}
    done, out = mfci_json("warm", "flows", "--arch", "osx-arm64", env=env)
    assert done.returncode == 0, done.stderr
    call = json.loads(log.read_text())
    assert call["env"]["CONDA_SUBDIR"] == "osx-arm64" and "--dry-run" in call["args"]
    start = next(e for e in out["envs"] if e["step"] == "start")
    assert any("/osx-arm64/native-tool" in p["url"] for p in record_of(store_root, start)["packages"])
    missing = mfci("warm", "flows", "--arch", "linux-64",
                   env={"METAFLOW_CONDA_DEPENDENCY_RESOLVER": "mamba", "PATH": "/usr/bin:/bin"})
    assert missing.returncode == 2 and "no mamba on PATH" in missing.stderr
    assert shutil.which("mamba") is None


def test_conda_step_pinning_only_python_gets_the_channels_python(tmp_path, store_root, channel_env):
    """As in Metaflow: @conda_base(python=...) alone is a conda environment (the channel's
    python and Metaflow's pins from the channel), not a PyPI one on a CPython build."""
    python = "%d.%d" % sys.version_info[:2]
    flow = two_step_flow(tmp_path / "flows", "python_only_flow", "PythonOnlyFlow",
                         base=f'@conda_base(python="{python}")', start=f'@conda(python="{python}")')
    done, out = mfci_json("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    for entry in out["envs"]:
        record = record_of(store_root, entry)
        assert {p["kind"] for p in record["packages"]} == {"conda"}
        assert any(p["name"] == "python" and p["version"].startswith(python) for p in record["packages"])
    run = run_flow(flow, "--environment=conda", "run", env=STRICT)
    assert run.returncode == 0, run.stdout + run.stderr
