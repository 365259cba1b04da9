"""A team moving from metaflow-netflixext keeps every version it runs today: a store in
the seed's layout (written by tests/seed_store.py from the seed's source, no solver)
is imported — environments, packages, aliases — and a flow then runs in strict mode
with every resolver disabled."""

import json
import sys

from conftest import mfci, mfci_json, run_flow, two_step_flow
from seed_store import SeedFile, SeedStore

NO_RESOLVER = {"METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER": "none", "METAFLOW_CONDA_DEPENDENCY_RESOLVER": "none",
               "METAFLOW_CONDA_MIXED_DEPENDENCY_RESOLVER": "none"}
PY = "%d.%d" % sys.version_info[:2]
PY_FULL = "%d.%d.%d" % sys.version_info[:3]


def seed_files(conda_channel, arch="linux-64"):
    python = conda_channel / arch / f"python-{PY_FULL}-0_venvwrap.conda"
    wheels = sorted((conda_channel.parent / "wheels").glob("*.whl"))   # the channel's own PyPI wheels
    return ([SeedFile(python, "conda", f"https://conda.anaconda.org/conda-forge/{arch}/{python.name}")] +
            [SeedFile(w, "pypi", f"https://files.pythonhosted.org/packages/5a/e7/{w.name}") for w in wheels])


def test_a_seed_store_imports_then_a_flow_runs_strict_without_resolving(tmp_path, store_root, conda_channel):
    files = seed_files(conda_channel)
    six = next(f.path.name.split("-")[1] for f in files if f.path.name.startswith("six-"))
    flow = two_step_flow(tmp_path / "flows", "seed_flow", "SeedFlow", base=f'@pypi_base(packages={{"six": "{six}"}})')
    seed = SeedStore(tmp_path / "seed")
    # What the seed wrote for that flow's steps (Metaflow's pins included), resolved twice.
    deps = {"conda": [f"python=={PY}.*"], "pypi": ["requests==>=2.21.0", f"six=={six}"], "sys": ["__glibc==2.27=0"]}
    sources = {"conda": ["conda-forge"], "pypi": ["https://pypi.org/simple"]}
    older = seed.env("linux-64", deps, sources, files[:-1], "2025-01-02T10:00:00.000001", "alice")
    newer = seed.env("linux-64", deps, sources, files, "2025-06-01T10:00:00.000001", "bob (compatible with x:y)")
    seed.alias("team/seed-env", "v1", *newer)
    # One the seed's cache lost a file of: named, the rest still imported.
    broken = seed.env("osx-arm64", deps, sources, seed_files(conda_channel, "osx-arm64"), "2025-06-01T10:00:00")
    (tmp_path / "seed" / "packages" / "conda" / "conda.anaconda.org" / "conda-forge" / "osx-arm64").rename(
        tmp_path / "lost")

    dry, planned = mfci_json("import-netflixext", str(tmp_path / "seed"), "--dry-run", env=NO_RESOLVER)
    assert [e["status"] for e in planned["envs"]].count("would-import") == 3 and not store_root.exists()

    done, out = mfci_json("import-netflixext", str(tmp_path / "seed"), env=NO_RESOLVER)
    assert done.returncode == 1, done.stderr
    [error] = out["errors"]
    assert error["what"] == f"envs/osx-arm64/{broken[0]}/{broken[1]}/env" and "python-" in error["message"]
    assert len([l for l in done.stderr.splitlines() if l.startswith("error:")]) == 1
    imported = {e["seed"]: e for e in out["envs"]}
    assert set(imported) == {":".join(older), ":".join(newer)} and out["aliases"] == ["team/seed-env:v1"]
    assert len({e["spec_id"] for e in imported.values()}) == 1          # one request, two resolutions
    spec_id, env_id = imported[":".join(newer)]["spec_id"], imported[":".join(newer)]["env_id"]
    latest = json.loads((store_root / "envs" / spec_id / "linux-64" / "latest.json").read_text())
    assert latest["env_id"] == env_id and latest["resolved_by"] == "bob"   # the newest resolution is current
    assert (store_root / "envs" / spec_id / "linux-64" / "users" / "alice.json").exists()

    run = run_flow(flow, "--environment=pypi", "run", env={**NO_RESOLVER, "METAFLOW_CONDA_MFCI_STRICT": "1"})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert f"[mfci] start: environment {env_id[:12]}" in output and f"[mfci] end: environment {env_id[:12]}" in output
    _, named = mfci_json("lookup", "--alias", "team/seed-env:v1", "--arch", "linux-64")
    assert named["env_id"] == env_id and mfci("verify").returncode == 0
    again, second = mfci_json("import-netflixext", str(tmp_path / "seed"), env=NO_RESOLVER)   # idempotent
    assert {e["env_id"] for e in second["envs"]} == {e["env_id"] for e in out["envs"]}
    # Into the seed's own root: files are used where the seed cached them, not copied.
    seed_root = str(tmp_path / "seed")
    in_place, moved = mfci_json("import-netflixext", seed_root, "--root", seed_root, env=NO_RESOLVER)
    entry = next(e for e in moved["envs"] if e["seed"] == ":".join(newer))
    record = json.loads((tmp_path / "seed" / "envs" / entry["spec_id"] / "linux-64" / f"{entry['env_id']}.json").read_text())
    python = next(p for p in record["packages"] if p["name"] == "python")
    assert python["key"].endswith(f"/{python['md5']}/{python['filename']}")
    verified = mfci("verify", "--root", seed_root)
    assert verified.returncode == 0, verified.stderr
