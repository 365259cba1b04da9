"""mfci against the competitors' real ways, in one process tree: `make bench`
(or `.venv/bin/python -m benchmarks.run`).

Every measurement is taken `--runs` times (medians, and the spread min–max), each cold run
from fresh, empty caches and store, competitors alternating with mfci in a rotating order so
that a warmer network favours no side. Ratios count, not absolute times: other work on the
machine slows both sides of a ratio alike. Prints the table, writes benchmarks/results.json
and benchmarks/results.png.

1. The corpus (many flows over a few small environments, three archs): the seed's way
   (`baseline.seed_way`), `uv pip compile` per platform (`baseline.uv_compile_way`), mfci
   cold, mfci no-op, `mfci check`.
2. A heavy environment (pandas, scikit-learn, pyarrow; three archs): mfci cold against the
   floor of downloading exactly the same files in parallel, with no resolution at all.
3. `mfci create` of a warmed environment against uv's own install of the same pins from its
   warm cache; a lookup's reads.
4. Launch: a two-step flow whose environments are warmed and on disk, against the same flow
   with no environment (whole-process times).
5. A remote bootstrap of a pandas + scikit-learn environment on a bare worker (a fresh venv,
   the code package, the store) against uv installing the same files offline.
6. Peak memory of `warm` on 300 flows.

CPython builds come from a local mirror of this machine's python (tools/python_builds.py),
as a team's internal mirror would serve them: GitHub is not needed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
REPO = HERE.parent
HEAVY = {"pandas": "2.2.3", "scikit-learn": "1.5.2", "pyarrow": "18.1.0"}
BOOTSTRAPPED = {"pandas": "2.2.3", "scikit-learn": "1.5.2"}


def mirror_variables(folder: Path) -> dict:
    """A CPython mirror in a folder: a real build of this python for linux-64, the shape of
    one for the other archs (nothing runs them here)."""
    sys.path.insert(0, str(REPO / "tools"))
    from python_builds import fake_build, publish, real_build

    real = real_build(Path(sys.base_prefix), folder / "builds")
    fakes = [fake_build(real.version, arch, folder / "builds") for arch in ARCHS if arch != "linux-64"]
    mirror = publish([real, *fakes], folder / "mirror")
    return {"UV_PYTHON_DOWNLOADS_JSON_URL": str(mirror / "download-metadata.json"),
            "UV_PYTHON_INSTALL_MIRROR": mirror.as_uri()}


def fresh_environment(scratch: Path, mirror: dict) -> dict:
    """Every cache and store under scratch: a cold machine. No pip or uv configuration of
    the machine's; bytecode written, as on a user's machine."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PIP_", "UV_", "METAFLOW_")) and key != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, **mirror, "METAFLOW_USER": "bench",
            "METAFLOW_HOME": str(scratch / "metaflow-home"), "UV_CACHE_DIR": str(scratch / "uv"),
            "UV_NO_CONFIG": "1", "PIP_CACHE_DIR": str(scratch / "pip"), "PIP_CONFIG_FILE": os.devnull,
            "METAFLOW_CONDA_MFCI_CACHE_DIR": str(scratch / "mfci-cache"),
            "METAFLOW_CONDA_LOCALROOT": str(scratch / "store"),
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(scratch / "datastore")}


def run(command: list, environment: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, env=environment, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command[:5]))} failed: {done.stdout[-400:]}{done.stderr[-1200:]}")
    return done


def timed(command: list, environment: dict, cwd: Path | None = None) -> tuple[float, dict]:
    """Wall time and the --json result of a command."""
    started = time.perf_counter()
    done = run(command, environment, cwd)
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def mfci(*arguments) -> list:
    return [sys.executable, "-m", "mfci", *arguments]


def archs(*names: str) -> list[str]:
    return sum((["--arch", arch] for arch in names or ARCHS), [])


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def rotated(items: list, turn: int) -> list:
    return items[turn % len(items):] + items[:turn % len(items)]


# 1. The corpus ------------------------------------------------------------------------

def corpus_runs(runs: int, flows: int, distinct: int, mirror: dict) -> dict:
    times = {"seed": [], "uv_compile": [], "mfci_cold": [], "mfci_noop": [], "check": []}
    counts = {}
    for turn in range(runs):
        with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
            scratch = Path(folder)
            repo = corpus.build(scratch / "repo", flows, distinct)
            environments = corpus.distinct_requirements(distinct)

            def seed() -> None:
                started = time.perf_counter()
                baseline.seed_way(environments, ARCHS, PYTHON, scratch / "seed",
                                  fresh_environment(scratch / "seed-home", mirror))
                times["seed"].append(time.perf_counter() - started)

            def uv_compile() -> None:
                started = time.perf_counter()
                baseline.uv_compile_way(environments, ARCHS, PYTHON, scratch / "uvc",
                                        fresh_environment(scratch / "uvc-home", mirror))
                times["uv_compile"].append(time.perf_counter() - started)

            def warm() -> None:
                environment = fresh_environment(scratch / "mfci-home", mirror)
                elapsed, cold = timed(mfci("warm", repo, "--json", *archs()), environment)
                times["mfci_cold"].append(elapsed)
                elapsed, noop = timed(mfci("warm", repo, "--json", *archs()), environment)
                times["mfci_noop"].append(elapsed)
                elapsed, _ = timed(mfci("check", repo, "--json", *archs()), environment)
                times["check"].append(elapsed)
                counts.update(pairs=len({(e["spec_id"], e["arch"]) for e in cold["envs"] if e["spec_id"]}),
                              rows=len(cold["envs"]),
                              noop_resolved=sum(e["status"] == "resolved" for e in noop["envs"]))

            for side in rotated([seed, uv_compile, warm], turn):
                side()
    return {name: summary(values) for name, values in times.items()} | counts


# 2. A heavy environment against the download floor --------------------------------------

def heavy_flow(folder: Path, packages: dict, name: str = "heavy_flow") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(corpus.flow_source(0, packages).replace("Bench0Flow", "HeavyFlow"))
    return path


def records(scratch: Path, out: dict) -> list[dict]:
    """The environment records a warm's --json names, read from the local store."""
    store = scratch / "store" / "mfci"
    found = []
    for entry in out["envs"]:
        if entry.get("env_id"):
            found.append(json.loads((store / "envs" / entry["spec_id"] / entry["arch"] /
                                     f"{entry['env_id']}.json").read_text()))
    return found


def heavy_runs(runs: int, mirror: dict) -> dict:
    times = {"mfci": [], "floor": []}
    urls: list[str] = []
    sizes = 0
    for turn in range(runs):
        with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
            scratch = Path(folder)
            flow = heavy_flow(scratch / "repo", HEAVY)

            def warm() -> None:
                nonlocal urls, sizes
                environment = fresh_environment(scratch / "mfci-home", mirror)
                elapsed, out = timed(mfci("warm", flow.parent, "--json", *archs()), environment)
                times["mfci"].append(elapsed)
                packages = {p["url"]: p.get("size") or 0 for record in records(scratch / "mfci-home", out)
                            for p in record["packages"] if p["kind"] == "pypi"}
                urls, sizes = sorted(packages), sum(packages.values())

            def floor() -> None:
                started = time.perf_counter()
                baseline.download_floor(urls, scratch / "floor")
                times["floor"].append(time.perf_counter() - started)

            # The floor needs the file list: the first run warms first, later ones alternate.
            for side in ([warm, floor] if turn % 2 == 0 else [floor, warm]):
                side()
    return {name: summary(values) for name, values in times.items()} | {"files": len(urls), "bytes": sizes}


# 3. create against uv, and a lookup's reads ---------------------------------------------

def create_runs(runs: int, mirror: dict) -> dict:
    from mfci.io.process import uv_binary

    uv = uv_binary()
    times = {"mfci_create": [], "uv_install": [], "reuse": []}
    with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
        scratch = Path(folder)
        flow = heavy_flow(scratch / "repo", dict(corpus.ENVIRONMENTS[3]), "small_flow")
        environment = fresh_environment(scratch, mirror)
        run(mfci("warm", flow.parent, "--arch", "linux-64"), environment)
        _, found = timed(mfci("lookup", flow, "--step", "start", "--json"), environment)
        pins = [f"{p['name']}=={p['version']}" for p in found["packages"] if p["kind"] == "pypi"]
        # Both caches hold the same files, as the comparison assumes: uv's its wheels, mfci's
        # its packages and the interpreter unpacked (the first create on a machine does that).
        run([uv, "venv", "--quiet", scratch / "warmup"], environment)
        run([uv, "pip", "install", "--quiet", "--python", scratch / "warmup/bin/python", *pins], environment)
        run(mfci("create", flow, "--step", "start", "--prefix", scratch / "mfci-warmup"), environment)
        for turn in range(runs):
            prefix, target = scratch / f"created-{turn}", scratch / f"uv-{turn}"

            def create() -> None:
                elapsed, _ = timed(mfci("create", flow, "--step", "start", "--prefix", prefix), environment)
                times["mfci_create"].append(elapsed)
                elapsed, _ = timed(mfci("create", flow, "--step", "start", "--prefix", prefix), environment)
                times["reuse"].append(elapsed)

            def uv_install() -> None:
                started = time.perf_counter()
                run([uv, "venv", "--quiet", target], environment)
                run([uv, "pip", "install", "--quiet", "--offline", "--python", target / "bin/python", *pins],
                    environment)
                times["uv_install"].append(time.perf_counter() - started)

            for side in rotated([create, uv_install], turn):
                side()
        in_process = in_process_create(environment, flow, scratch / "in-process", runs)
    return {name: summary(values) for name, values in times.items()} | in_process


def in_process_create(environment: dict, flow: Path, folder: Path, runs: int) -> dict:
    """What a launch pays inside Metaflow's process (no CLI start): the lookup (its store
    reads and time) and the create of a fresh environment from the warm cache."""
    code = f"""
import json, statistics, time
from pathlib import Path
from mfci.config import Settings
from mfci.create import local_installer
from mfci.lookup import find
from mfci.cli._common import step_requirement
from mfci.spec import build_spec

class Counting:
    def __init__(self, inner): self.inner, self.reads = inner, 0
    def read(self, key): self.reads += 1; return self.inner.read(key)
    def __getattr__(self, name): return getattr(self.inner, name)

settings = Settings.load()
store = Counting(settings.open_store())
spec = build_spec(step_requirement(settings, Path({str(flow)!r}), "start"), settings.spec_inputs, "linux-64")
times = []
for _ in range(50):
    started = time.perf_counter()
    record = find(store, settings.layout, spec.spec_id, "linux-64", settings.policy)
    times.append(time.perf_counter() - started)
reads = store.reads / 50
installer = local_installer(settings, store)
creates = []
for run in range({runs}):
    started = time.perf_counter()
    installer.create(record, Path({str(folder)!r}) / str(run))
    creates.append(time.perf_counter() - started)
print(json.dumps({{"lookup_ms": statistics.median(times) * 1000, "lookup_reads": reads,
                  "create_in_process": {{"median": statistics.median(creates), "min": min(creates),
                                        "max": max(creates), "runs": creates}}}}))
"""
    return json.loads(run([sys.executable, "-c", code], environment).stdout)


# 4. Launch overhead ---------------------------------------------------------------------

def launch_runs(runs: int, mirror: dict) -> dict:
    times = {"with_environments": [], "plain": []}
    with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
        scratch = Path(folder)
        with_env = two_step_flow(scratch / "env", f"@pypi_base(packages={dict(corpus.ENVIRONMENTS[0])!r})")
        plain = two_step_flow(scratch / "plain", "")
        environment = fresh_environment(scratch, mirror)
        run(mfci("warm", with_env.parent, "--arch", "linux-64"), environment)
        run([sys.executable, with_env.name, "--environment=pypi", "run"], environment, cwd=with_env.parent)
        run([sys.executable, plain.name, "run"], environment, cwd=plain.parent)   # both compiled once
        for turn in range(runs):
            def warmed() -> None:
                started = time.perf_counter()
                run([sys.executable, with_env.name, "--environment=pypi", "run"], environment, cwd=with_env.parent)
                times["with_environments"].append(time.perf_counter() - started)

            def bare() -> None:
                started = time.perf_counter()
                run([sys.executable, plain.name, "run"], environment, cwd=plain.parent)
                times["plain"].append(time.perf_counter() - started)

            for side in rotated([warmed, bare], turn):
                side()
    return {name: summary(values) for name, values in times.items()}


def two_step_flow(folder: Path, decorator: str) -> Path:
    folder.mkdir(parents=True)
    path = folder / "two_step_flow.py"
    path.write_text(corpus.flow_source(0, {}).replace("    @pypi(packages={})\n", "")
                    .replace("class Bench0Flow", f"{decorator}\nclass Bench0Flow")
                    .replace("import FlowSpec, pypi, step", "import FlowSpec, pypi_base, step"))
    return path


# 5. A remote bootstrap on a bare worker -------------------------------------------------

def bootstrap_runs(runs: int, mirror: dict) -> dict:
    from mfci.io.process import uv_binary

    uv = uv_binary()
    times = {"mfci_bootstrap": [], "uv_offline": []}
    with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
        scratch = Path(folder)
        flow = heavy_flow(scratch / "repo", BOOTSTRAPPED, "train_flow")
        environment = fresh_environment(scratch, mirror)
        run(mfci("warm", flow.parent, "--arch", "linux-64"), environment)
        _, found = timed(mfci("lookup", flow, "--step", "start", "--arch", "linux-64", "--json"), environment)
        command = bootstrap_arguments(environment, found)
        # The same files, for uv: the wheels in a folder, the interpreter in its mirror.
        wheels = scratch / "wheels"
        wheels.mkdir()
        store = scratch / "store" / "mfci"
        pins = []
        for package in found["packages"]:
            if package["kind"] == "pypi":
                source = next((store / "packages").rglob(package["url"].rsplit("/", 1)[-1]))
                shutil.copyfile(source, wheels / source.name)
                pins.append(f"{package['name']}=={package['version']}")
        python = next(p["version"] for p in found["packages"] if p["kind"] == "python")
        # The worker: a venv with nothing installed, the code package's mfci, the store.
        code = scratch / "code"
        shutil.copytree(REPO / "mfci", code / "mfci", ignore=shutil.ignore_patterns("__pycache__"))
        for turn in range(runs):
            worker, target = scratch / f"worker-{turn}", scratch / f"uv-{turn}"

            def bootstrap() -> None:
                run([sys.executable, "-m", "venv", "--without-pip", worker / "venv"], environment)
                bare = {"PATH": f"{worker / 'venv' / 'bin'}:/usr/bin:/bin", "HOME": str(worker),
                        "PYTHONPATH": str(code), "METAFLOW_USER": "worker"}
                started = time.perf_counter()
                run([worker / "venv" / "bin" / "python", "-m", "mfci.bootstrap", *command, "--prefix", worker / "env"],
                    bare, cwd=worker)
                times["mfci_bootstrap"].append(time.perf_counter() - started)

            def uv_offline() -> None:
                offline = {**environment, "UV_CACHE_DIR": str(target / "cache"),
                           "UV_PYTHON_INSTALL_DIR": str(target / "pythons"), "UV_OFFLINE": "1"}
                started = time.perf_counter()
                run([uv, "python", "install", "--quiet", python], offline)
                run([uv, "venv", "--quiet", "--python", python, "--managed-python", target / "env"], offline)
                run([uv, "pip", "install", "--quiet", "--no-index", "--find-links", wheels,
                     "--python", target / "env/bin/python", *pins], offline)
                times["uv_offline"].append(time.perf_counter() - started)

            for side in rotated([bootstrap, uv_offline], turn):
                side()
    return {name: summary(values) for name, values in times.items()} | {"packages": len(pins)}


def bootstrap_arguments(environment: dict, found: dict) -> list[str]:
    """What a remote task passes to `python -m mfci.bootstrap`, but for its prefix."""
    code = f"""
import json
from mfci.config import Settings
settings = Settings.load()
layout = settings.layout
print(json.dumps(["--root", settings.open_store().url,
                  "--record", layout.record({found['spec_id']!r}, {found['arch']!r}, {found['env_id']!r}),
                  "--envs", layout.envs, "--installers", layout.installers, "--packages", layout.packages]))
"""
    return json.loads(run([sys.executable, "-c", code], environment).stdout)


# 6. Memory on a large repository --------------------------------------------------------

def memory_run(flows: int, mirror: dict) -> dict:
    helper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    with tempfile.TemporaryDirectory(prefix="mfci-bench-") as folder:
        scratch = Path(folder)
        repo = corpus.build(scratch / "repo", flows, 4)
        environment = fresh_environment(scratch, mirror)
        results = {}
        for name in ("cold", "noop"):
            done = run([sys.executable, "-c", helper, *mfci("warm", repo, *archs())], environment)
            elapsed, kilobytes = done.stdout.split()
            results[name] = {"seconds": float(elapsed), "peak_mb": int(kilobytes) / 1024}
    return {"flows": flows} | results


# The report -----------------------------------------------------------------------------

def spread(entry: dict, unit: str = "s", digits: int = 2) -> str:
    return f"{entry['median']:.{digits}f} {unit} ({entry['min']:.{digits}f}–{entry['max']:.{digits}f})"


def table(results: dict) -> str:
    c, h, k, l, b, m = (results[name] for name in ("corpus", "heavy", "create", "launch", "bootstrap", "memory"))
    overhead = l["with_environments"]["median"] - l["plain"]["median"]
    rows = [
        ("measurement", "competitor", "mfci", "ratio (goal)"),
        (f"cold warm, corpus ({c['pairs']} env×arch)", f"seed's way {spread(c['seed'])}",
         spread(c["mfci_cold"]), f"{c['seed']['median'] / c['mfci_cold']['median']:.1f}x faster (>= 3x)"),
        ("", f"uv pip compile {spread(c['uv_compile'])}", "",
         f"{c['uv_compile']['median'] / c['mfci_cold']['median']:.1f}x faster"),
        ("no-op warm", "", spread(c["mfci_noop"]),
         f"{100 * c['mfci_noop']['median'] / c['mfci_cold']['median']:.0f}% of cold (<= 5%)"),
        ("check, corpus", "", spread(c["check"]), "(<= 1 s)"),
        (f"heavy env, 3 archs ({h['files']} files, {h['bytes'] / 1e6:.0f} MB)", f"download floor {spread(h['floor'])}",
         spread(h["mfci"]), f"{h['mfci']['median'] / h['floor']['median']:.2f}x floor (<= 1.3x)"),
        ("create a warmed env (CLI)", f"uv install {spread(k['uv_install'])}", spread(k["mfci_create"]),
         f"{k['mfci_create']['median'] / k['uv_install']['median']:.2f}x uv (<= 1.5x)"),
        ("create, in the launcher's process", "", spread(k["create_in_process"]),
         f"{k['create_in_process']['median'] / k['uv_install']['median']:.2f}x uv (<= 1.5x)"),
        ("reuse a created env (CLI)", "", spread(k["reuse"]), f"lookup {k['lookup_ms']:.2f} ms, "
                                                               f"{k['lookup_reads']:.0f} reads"),
        ("launch, 2-step flow", f"no environment {spread(l['plain'])}", spread(l["with_environments"]),
         f"+{overhead:.2f} s (<= 0.3 s)"),
        (f"remote bootstrap ({b['packages']} packages)", f"uv offline {spread(b['uv_offline'])}",
         spread(b["mfci_bootstrap"]), f"{b['mfci_bootstrap']['median'] / b['uv_offline']['median']:.2f}x uv (<= 1.5x)"),
        (f"warm, {m['flows']} flows", "", f"cold {m['cold']['seconds']:.1f} s, no-op {m['noop']['seconds']:.1f} s",
         f"peak {max(m['cold']['peak_mb'], m['noop']['peak_mb']):.0f} MB (< 200 MB)"),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c, h, k, l, b = (results[name] for name in ("corpus", "heavy", "create", "launch", "bootstrap"))
    panels = [
        ("cold warm, corpus x 3 archs (s)", [("seed's way", c["seed"]), ("uv pip compile", c["uv_compile"]),
                                             ("mfci cold", c["mfci_cold"]), ("mfci no-op", c["mfci_noop"])]),
        ("heavy env x 3 archs (s)", [("download floor", h["floor"]), ("mfci cold", h["mfci"])]),
        ("create / bootstrap (s)", [("uv install", k["uv_install"]), ("mfci create", k["mfci_create"]),
                                    ("uv offline", b["uv_offline"]), ("mfci bootstrap", b["mfci_bootstrap"])]),
        ("launch, 2-step flow (s)", [("no env", l["plain"]), ("warmed env", l["with_environments"])]),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(18, 4.5))
    for axis, (title, bars) in zip(axes, panels):
        labels = [label for label, _ in bars]
        medians = [entry["median"] for _, entry in bars]
        errors = [[entry["median"] - entry["min"] for _, entry in bars], [entry["max"] - entry["median"] for _, entry in bars]]
        colours = ["grey" if not label.startswith("mfci") else "tab:blue" for label in labels]
        axis.bar(labels, medians, yerr=errors, capsize=4, color=colours)
        axis.set_title(title)
        axis.tick_params(axis="x", labelrotation=20)
    figure.suptitle(f"mfci benchmark, {results['date']}, {results['machine']} (medians, min-max)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (medians)")
    parser.add_argument("--flows", type=int, default=27, help="flows in the corpus")
    parser.add_argument("--distinct", type=int, default=9, help="distinct environments in the corpus")
    parser.add_argument("--launches", type=int, default=5, help="runs of each flow for the launch overhead")
    parser.add_argument("--memory-flows", type=int, default=300)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mfci-bench-mirror-") as folder:
        mirror = mirror_variables(Path(folder))
        machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
        results = {"date": str(date.today()), "machine": machine}
        for name, measure in (
            ("corpus", lambda: corpus_runs(arguments.runs, arguments.flows, arguments.distinct, mirror)),
            ("heavy", lambda: heavy_runs(arguments.runs, mirror)),
            ("create", lambda: create_runs(arguments.runs, mirror)),
            ("launch", lambda: launch_runs(arguments.launches, mirror)),
            ("bootstrap", lambda: bootstrap_runs(arguments.runs, mirror)),
            ("memory", lambda: memory_run(arguments.memory_flows, mirror)),
        ):
            print(f"bench: {name}…", file=sys.stderr, flush=True)
            results[name] = measure()
    print(f"mfci benchmark {results['date']} on {machine}")
    print(table(results))
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    chart(results, HERE / "results.png")
    print(f"chart: {HERE / 'results.png'}")


if __name__ == "__main__":
    main()
