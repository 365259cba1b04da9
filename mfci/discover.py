"""Finding flows and asking Metaflow itself what each step needs.

Each flow file runs in its own process (`python flow.py --environment=pypi mfci dump`),
with the flow's folder as working directory, a timeout, its own process group (killed
whole on timeout) and an environment without credentials of any kind: discovery executes
the user's module code, and treats it as untrusted.

Two ways to run them (CONDA_MFCI_DISCOVERY): `fork` (default) forks each flow's process
from one that imported Metaflow already (`flow_runner`) and keeps results by content
(`discovery_cache`), so an unchanged flow is not run again; `subprocess` starts a fresh
python per flow and keeps nothing. Both give the same reports.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .discovery_cache import DiscoveryCache, dependency_digests
from .errors import UsageError
from .flow_runner import dump_arguments
from .io.files import read_json_file
from .io.process import ToolFailed, ToolTimedOut, run
from .secrets import is_secret_variable, scrub
from .spec import StepRequirement

SKIPPED_FOLDERS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".metaflow",
                   "site-packages", ".tox", ".mypy_cache", ".pytest_cache", "build", "dist"}
# No flow file is this large; a larger *.py (generated code) is not read whole.
FLOW_FILE_CAP = 8 << 20


@dataclass(frozen=True)
class FlowReport:
    file: str
    flow: str | None = None
    steps: tuple[StepRequirement, ...] = ()
    error: str | None = None
    step_errors: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DiscoveryOptions:
    timeout: float
    mode: str = "fork"
    cache_folder: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, settings) -> "DiscoveryOptions":
        return cls(settings["CONDA_MFCI_DISCOVERY_TIMEOUT"], settings["CONDA_MFCI_DISCOVERY"],
                   settings.cache_dir / "discovery", flow_environment(settings))


def flow_environment(settings) -> dict:
    """The environment flow code runs in during discovery: the user's, minus every
    credential — cloud keys, tokens, Metaflow's service key and headers, index and channel
    URLs with credentials — including those a Metaflow profile would hand it."""
    environment = {k: v for k, v in settings.environ.items() if not is_secret_variable(k, v)}
    for name, value in settings.metaflow_files.items():
        if name not in environment and is_secret_variable(name, json.dumps(value)):
            # An empty value of the same shape shadows the profile's (Metaflow parses it).
            environment[name] = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else ""
    for name, value in list(settings.environ.items()):
        if name.startswith("METAFLOW_CONDA_") and "://" in value and name not in environment:
            environment[name] = scrub(value)  # the setting stays, its credentials go
    environment["METAFLOW_USER"] = settings.user
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    # Discovery asks mfci's decorators, even where metaflow-netflixext serves runs.
    environment["METAFLOW_CONDA_MFCI_SERVES"] = "mfci"
    return environment


def _with_scratch(environment: Mapping[str, str], scratch: str) -> dict:
    # Keep discovery from leaving a .metaflow folder in the user's repository.
    return {**environment, "METAFLOW_DATASTORE_SYSROOT_LOCAL": scratch}


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)       # flow files to run
    problems: list[FlowReport] = field(default_factory=list)  # files that could not be read
    notes: list[str] = field(default_factory=list)        # files passed over, and why


def find_flow_files(paths: list[str]) -> Scan:
    """Python files that import Metaflow and run a flow as a script."""
    scan = Scan()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_file():
            scan.files.append(path)
            continue
        for root, folders, files in os.walk(path):
            folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS and not f.startswith("."))
            for name in sorted(files):
                if name.endswith(".py"):
                    _classify(Path(root, name), scan)
    return scan


def _classify(path: Path, scan: Scan) -> None:
    try:
        info = path.stat()
    except OSError as error:
        scan.notes.append(f"skipped {path}: {error.strerror}")
        return
    if not stat.S_ISREG(info.st_mode):
        scan.notes.append(f"skipped {path}: not a regular file")
        return
    if info.st_size > FLOW_FILE_CAP:
        scan.notes.append(f"skipped {path}: {info.st_size >> 20} MB, larger than any flow file")
        return
    try:
        with open(path, "rb") as handle:
            text = handle.read(FLOW_FILE_CAP).decode(errors="replace")
    except OSError as error:
        scan.problems.append(FlowReport(str(path), error=f"cannot read the file: {error.strerror}"))
        return
    if _looks_like_flow(text):
        scan.files.append(path)


def _looks_like_flow(text: str) -> bool:
    if "metaflow" not in text or "FlowSpec" not in text:
        return False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return True  # a broken flow is still a flow: report it
    has_class = any(isinstance(node, ast.ClassDef) and node.bases for node in tree.body)
    return has_class and "__main__" in text


def _last_error_line(output: str, file_name: str) -> str:
    """The one line that says what went wrong, with the flow file's line when Python gives it."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    where = ""
    for line in lines:
        found = re.match(r'File "([^"]+)", line (\d+)', line)
        if found and Path(found.group(1)).name == file_name:
            where = f" (line {found.group(2)})"
    for line in reversed(lines):
        if not line.startswith(("File ", "^", "~")):
            return " ".join(line.split())[:400] + where
    return "failed without a message"


def dump_flow(path: Path, options: DiscoveryOptions, python: str = sys.executable) -> FlowReport:
    display = str(path)
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        output = Path(scratch, "dump.json")
        try:
            done = run([python, path.name, *dump_arguments(str(output))], timeout=options.timeout,
                       what="loading the flow", cwd=path.parent.absolute(),
                       env=_with_scratch(options.environment, scratch))
        except ToolTimedOut:
            return _timed_out(display, options.timeout)
        except ToolFailed as error:
            return FlowReport(display, error=str(error))
        data = read_json_file(output)
        if done.returncode != 0 or not isinstance(data, dict):
            return FlowReport(display, error=_last_error_line(done.stderr or done.stdout, path.name))
    return _report(display, data)


def _timed_out(display: str, timeout: float) -> FlowReport:
    return FlowReport(display, error=f"timed out after {timeout:.0f}s while loading the flow")


def _report(display: str, data: dict) -> FlowReport:
    flow, steps = data["flow"], data["steps"]
    # Under --environment=pypi/conda every step gets an environment; a flow that
    # declares none anywhere is not run that way, so its steps are skipped.
    declared = any(s.get("declared") for s in steps.values())
    requirements, errors = [], {}
    for name, request in steps.items():
        if "error" in request:
            errors[name] = request["error"]
            continue
        requirement = StepRequirement.from_json(display, flow, name, request)
        if not declared:
            requirement = StepRequirement(display, flow, name, uses_environment=False)
        requirements.append(requirement)
    return FlowReport(display, flow, tuple(requirements), step_errors=errors)


@dataclass(frozen=True)
class Discovery:
    reports: list[FlowReport]
    notes: list[str]


def discover(paths: list[str], jobs: int, options: DiscoveryOptions) -> Discovery:
    scan = find_flow_files(paths)
    files = scan.files
    jobs = max(1, min(jobs, os.cpu_count() or 1))  # flows are CPU-bound: one per core at most
    if options.mode == "subprocess" or not hasattr(os, "fork"):
        return Discovery(scan.problems + _in_fresh_processes(files, jobs, options), scan.notes)
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        environment = _with_scratch(options.environment, scratch)
        cache = DiscoveryCache(options.cache_folder, environment) if options.cache_folder else None
        reports: dict[Path, FlowReport] = {}
        for path in files:
            dump = cache.get(path) if cache else None
            if dump is not None:
                reports[path] = _report(str(path), dump)
        # A folder that holds its own metaflow_extensions changes what `import metaflow`
        # loads for its flows: those run in a fresh python, as they would by hand.
        forkable = [p for p in files if p not in reports and not (p.parent / "metaflow_extensions").exists()]
        reports |= _forked(forkable, jobs, options.timeout, scratch, environment, cache)
        rest = [p for p in files if p not in reports]
        reports |= dict(zip(rest, _in_fresh_processes(rest, jobs, options)))
    return Discovery(scan.problems + [reports[path] for path in files], scan.notes)


def _in_fresh_processes(files: list[Path], jobs: int, options: DiscoveryOptions) -> list[FlowReport]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda f: dump_flow(f, options), files))


def _forked(files: list[Path], jobs: int, timeout: float, scratch: str, environment: dict,
            cache: DiscoveryCache | None) -> dict[Path, FlowReport]:
    """Reports of the flows `flow_runner` ran; a flow it could not report on is left out
    (the caller runs it in a fresh python)."""
    if not files:
        return {}
    work = Path(scratch, "flows")
    work.mkdir()
    flows = [{"file": str(path.absolute()), **{part: str(work / f"{index}.{part}")
                                               for part in ("output", "log", "depends")}}
             for index, path in enumerate(files)]
    request = {"jobs": jobs, "timeout": timeout, "flows": flows}
    # The runner bounds each flow itself; this bounds the runner (one flow's time per
    # round of `jobs` flows, and one more to import Metaflow).
    try:
        done = run([sys.executable, "-m", "mfci.flow_runner"], timeout=timeout * (len(files) // jobs + 2),
                   what="loading the flows", cwd=scratch, env=environment, input=json.dumps(request))
        stdout = done.stdout
    except ToolFailed:
        stdout = ""
    ignored = (sys.prefix, sys.base_prefix, sys.exec_prefix, scratch)
    reports = {}
    for line in stdout.splitlines():
        finished = json.loads(line)
        path, flow = files[finished["index"]], flows[finished["index"]]
        if finished["timed_out"]:
            reports[path] = _timed_out(str(path), timeout)
            continue
        dump = read_json_file(Path(flow["output"]))
        if finished["returncode"] != 0 or not isinstance(dump, dict):
            log = Path(flow["log"]).read_text(errors="replace") if Path(flow["log"]).exists() else ""
            reports[path] = FlowReport(str(path), error=_last_error_line(log, path.name))
            continue
        used = read_json_file(Path(flow["depends"]))
        if cache and isinstance(used, dict):
            cache.put(path, dump, dependency_digests(used, environment, ignored))
        reports[path] = _report(str(path), dump)
    return reports
