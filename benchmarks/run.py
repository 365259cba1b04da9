"""mfci against the seed's way, in one process tree: `make bench` (or `.venv/bin/python -m benchmarks.run`).

Builds the corpus, then alternates baseline and mfci runs (each cold run with fresh, empty
uv/pip/mfci caches and store), takes medians, prints a table of ratios and writes
benchmarks/results.png and benchmarks/results.json. Ratios count, not absolute times: other
work on the machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from . import baseline, corpus

ARCHS = ["linux-64", "osx-64", "osx-arm64"]
PYTHON = "3.11"
HERE = Path(__file__).resolve().parent


def fresh_environment(scratch: Path) -> dict:
    """Every cache and store under scratch: a cold machine."""
    return {**os.environ, "METAFLOW_USER": os.environ.get("METAFLOW_USER", "bench"),
            "METAFLOW_HOME": str(scratch / "metaflow-home"), "UV_CACHE_DIR": str(scratch / "uv"),
            "PIP_CACHE_DIR": str(scratch / "pip"), "PIP_CONFIG_FILE": os.devnull,
            "METAFLOW_CONDA_MFCI_CACHE_DIR": str(scratch / "mfci-cache"),
            "METAFLOW_CONDA_LOCALROOT": str(scratch / "store"),
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(scratch / "datastore")}


def timed(command: list[str], environment: dict) -> tuple[float, dict]:
    """Wall time and the --json result of an mfci command."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed: {done.stderr[-800:]}")
    return elapsed, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def mfci_warm(repo: Path, environment: dict) -> tuple[float, dict]:
    return timed([sys.executable, "-m", "mfci", "warm", str(repo), "--json", *sum((["--arch", a] for a in ARCHS), [])],
                 environment)


def peak_rss_mb(command: list[str], environment: dict) -> tuple[float, float]:
    """Wall time and the largest resident set of any process of the command's tree (MB)."""
    helper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", helper, *command], capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed: {done.stderr[-800:]}")
    elapsed, kilobytes = done.stdout.split()
    return float(elapsed), int(kilobytes) / 1024


def cold_and_noop(runs: int, flows: int, distinct: int) -> dict:
    """Baseline and mfci alternately, `runs` times each, every run from empty caches."""
    times = {"baseline": [], "mfci_cold": [], "mfci_noop": []}
    counts = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
            scratch = Path(folder)
            repo = corpus.build(scratch / "repo", flows, distinct)
            environment = fresh_environment(scratch)
            started = time.perf_counter()
            baseline.warm(corpus.distinct_requirements(distinct), ARCHS, PYTHON, scratch / "baseline", environment)
            times["baseline"].append(time.perf_counter() - started)
            elapsed, cold = mfci_warm(repo, environment)
            times["mfci_cold"].append(elapsed)
            elapsed, noop = mfci_warm(repo, environment)
            times["mfci_noop"].append(elapsed)
            counts = {"pairs": len({(e["spec_id"], e["arch"]) for e in cold["envs"]}),
                      "rows": len(cold["envs"]),
                      "noop_resolved": sum(e["status"] == "resolved" for e in noop["envs"])}
    return {name: statistics.median(values) for name, values in times.items()} | counts | {"runs": times}


def create_against_floor(runs: int) -> dict:
    """`mfci create` from the store vs `uv venv` + `uv pip install --offline` from uv's warm cache."""
    from mfci.io.process import uv_binary

    uv = uv_binary()
    with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
        scratch = Path(folder)
        repo = corpus.build(scratch / "repo", 1, 1)
        flow = next(repo.rglob("*.py"))
        environment = fresh_environment(scratch)
        subprocess.run([sys.executable, "-m", "mfci", "warm", str(repo), "--arch", "linux-64"],
                       check=True, capture_output=True, env=environment)
        _, found = timed([sys.executable, "-m", "mfci", "lookup", str(flow), "--step", "start", "--json"], environment)
        pins = [f"{p['name']}=={p['version']}" for p in found["packages"]]
        # Warm uv's own cache with the same pins, as the floor assumes.
        subprocess.run([uv, "venv", "--quiet", str(scratch / "warmup")], check=True, env=environment)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(scratch / "warmup/bin/python"), *pins],
                       check=True, env=environment)
        mfci_times, floor_times, reuse_times = [], [], []
        for run in range(runs):
            prefix = scratch / f"created-{run}"
            elapsed, _ = timed([sys.executable, "-m", "mfci", "create", str(flow), "--step", "start",
                                "--prefix", str(prefix)], environment)
            mfci_times.append(elapsed)
            reuse, _ = timed([sys.executable, "-m", "mfci", "create", str(flow), "--step", "start",
                              "--prefix", str(prefix)], environment)
            reuse_times.append(reuse)
            target = scratch / f"floor-{run}"
            started = time.perf_counter()
            subprocess.run([uv, "venv", "--quiet", str(target)], check=True, env=environment)
            subprocess.run([uv, "pip", "install", "--quiet", "--offline", "--python", str(target / "bin/python"), *pins],
                           check=True, env=environment)
            floor_times.append(time.perf_counter() - started)
        in_process = reuse_and_lookup_in_process(scratch, environment, flow, prefix)
    return {"mfci_create": statistics.median(mfci_times), "floor": statistics.median(floor_times),
            "reuse_cli": statistics.median(reuse_times)} | in_process


def reuse_and_lookup_in_process(scratch: Path, environment: dict, flow: Path, prefix: Path) -> dict:
    """What a run pays inside Metaflow: lookup (reads, latency) and reuse of a created env."""
    code = f"""
import json, statistics, time
from pathlib import Path
from mfci.config import Settings
from mfci.create import local_installer
from mfci.lookup import Policy, find
from mfci.cli._common import step_requirement
from mfci.spec import build_spec

class Counting:
    def __init__(self, inner): self.inner, self.reads = inner, 0
    def read(self, key): self.reads += 1; return self.inner.read(key)
    def __getattr__(self, name): return getattr(self.inner, name)

settings = Settings.load()
store = Counting(settings.open_store())
layout = settings.layout
spec = build_spec(step_requirement(settings, Path({str(flow)!r}), "start"), settings.spec_inputs, "linux-64")
lookups = []
for _ in range(50):
    started = time.perf_counter(); record = find(store, layout, spec.spec_id, "linux-64", Policy.parse(":any:", "bench"))
    lookups.append(time.perf_counter() - started)
reads = store.reads / 50
installer = local_installer(settings, store)
reuse = []
for _ in range(20):
    started = time.perf_counter()
    installer.create(record, Path({str(prefix)!r}))
    reuse.append(time.perf_counter() - started)
print(json.dumps({{"lookup_ms": statistics.median(lookups) * 1000, "lookup_reads": reads,
                  "reuse_in_process_ms": statistics.median(reuse) * 1000}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    return json.loads(done.stdout)


def scaling(flow_counts: list[int], distinct_counts: list[int]) -> dict:
    """Cold warm time and peak memory as flows grow (same envs) and as distinct envs grow."""
    results = {"flows": [], "distinct": []}
    for axis, settings in (("flows", [(n, 4) for n in flow_counts]), ("distinct", [(24, d) for d in distinct_counts])):
        for flows, distinct in settings:
            with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
                scratch = Path(folder)
                repo = corpus.build(scratch / "repo", flows, distinct)
                command = [sys.executable, "-m", "mfci", "warm", str(repo), *sum((["--arch", a] for a in ARCHS), [])]
                environment = fresh_environment(scratch)
                cold, memory = peak_rss_mb(command, environment)
                noop, _ = peak_rss_mb(command, environment)
                results[axis].append({"flows": flows, "distinct": distinct, "cold": cold, "noop": noop,
                                      "peak_mb": memory})
    return results


def table(cold: dict, create: dict, scale: dict) -> str:
    rows = [
        ("cold warm, 24 flows, 3 archs", f"{cold['baseline']:.1f} s baseline", f"{cold['mfci_cold']:.1f} s mfci",
         f"{cold['baseline'] / cold['mfci_cold']:.1f}x faster (target >= 3x)"),
        ("no-op warm", f"{cold['mfci_noop']:.2f} s", f"{cold['noop_resolved']} resolutions",
         f"{100 * cold['mfci_noop'] / cold['mfci_cold']:.0f}% of cold (target <= 15%)"),
        ("mfci create vs floor", f"{create['floor']:.2f} s floor", f"{create['mfci_create']:.2f} s mfci",
         f"{create['mfci_create'] / create['floor']:.2f}x floor (target <= 1.5x)"),
        ("reuse of a created env", f"{create['reuse_in_process_ms']:.1f} ms in process",
         f"{create['reuse_cli']:.2f} s by CLI", "target < 100 ms"),
        ("runtime lookup", f"{create['lookup_ms']:.2f} ms", f"{create['lookup_reads']:.0f} reads", "target <= 2 reads"),
    ]
    for point in scale["flows"] + scale["distinct"]:
        rows.append((f"scaling: {point['flows']} flows, {point['distinct']} distinct", f"{point['cold']:.1f} s cold",
                     f"{point['noop']:.2f} s no-op", f"peak {point['peak_mb']:.0f} MB"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)


def chart(cold: dict, create: dict, scale: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.5))
    left.bar(["baseline\n(pip, sequential)", "mfci cold", "mfci no-op"],
             [cold["baseline"], cold["mfci_cold"], cold["mfci_noop"]], color=["grey", "tab:blue", "tab:green"])
    left.set_title("warm, 24 flows x 3 archs (s, median)")
    middle.bar(["uv --offline floor", "mfci create", "reuse (in process)"],
               [create["floor"], create["mfci_create"], create["reuse_in_process_ms"] / 1000],
               color=["grey", "tab:blue", "tab:green"])
    middle.set_title("environment creation (s)")
    for axis, label in (("flows", "flows (4 distinct envs)"), ("distinct", "distinct envs (24 flows)")):
        points = scale[axis]
        xs = [p["flows"] if axis == "flows" else p["distinct"] for p in points]
        right.plot(xs, [p["cold"] for p in points], marker="o", label=f"cold vs {label}")
    right.set_xscale("log")
    right.set_title("cold warm time as the repository grows (s)")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (medians)")
    parser.add_argument("--flows", type=int, default=24)
    parser.add_argument("--distinct", type=int, default=4)
    parser.add_argument("--scale-flows", default="10,100,300")
    parser.add_argument("--scale-distinct", default="1,4,8")
    arguments = parser.parse_args()
    cold = cold_and_noop(arguments.runs, arguments.flows, arguments.distinct)
    create = create_against_floor(arguments.runs)
    scale = scaling([int(n) for n in arguments.scale_flows.split(",")],
                    [int(n) for n in arguments.scale_distinct.split(",")])
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
    print(f"mfci benchmark {date.today()} on {machine}")
    print(table(cold, create, scale))
    (HERE / "results.json").write_text(json.dumps({"date": str(date.today()), "machine": machine, "cold": cold,
                                                   "create": create, "scaling": scale}, indent=1))
    chart(cold, create, scale, HERE / "results.png")
    print(f"chart: {HERE / 'results.png'}")


if __name__ == "__main__":
    main()
