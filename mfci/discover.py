"""Finding flows and asking Metaflow itself what each step needs.

Each flow file runs in its own process (`python flow.py --environment=pypi mfci dump`),
with the flow's folder as working directory, a timeout, its own process group (killed
whole on timeout) and an environment without credentials of any kind: discovery executes
the user's module code, and treats it as untrusted.

Which files are flows is `scan`'s to say. Two ways to run them (CONDA_MFCI_DISCOVERY):
`fork` (default) forks each flow's process from one that imported Metaflow already
(`flow_runner`) and keeps results by content (`discovery_cache`), so an unchanged flow is
not run again; `subprocess` starts a fresh python per flow (`flow_runner`'s single-flow
request) and keeps nothing. Both give the same reports, and both give a flow the
`--config` / `--config-value` pairs it declares. A flow that loads only with a cloud
datastore (remote decorators) is loaded a second time that way.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from .discovery_cache import DiscoveryCache, dependency_digests
from .errors import WorkError
from .io.files import read_json_file
from .io.process import ToolFailed, ToolTimedOut, run
from .scan import find_flow_files
from .secrets import is_secret_variable, scrub
from .spec import StepRequirement
from .uvlock import find_project, project_request

# Metaflow's remote decorators refuse the local datastore when a flow loads (@batch: s3;
# @kubernetes: s3, azure or gs). Such a flow only ever runs with a cloud datastore, so it
# is loaded with the first one its decorator names, as its runs would be.
NEEDS_DATASTORE = re.compile(r"decorator requires --datastore=(\w+)")
# The datastore root Metaflow wants to see: never contacted (loading a flow reads no data).
PLACEHOLDER_ROOTS = {"s3": "s3://mfci-discovery/placeholder", "gs": "gs://mfci-discovery/placeholder",
                     "azure": "mfci-discovery/placeholder"}
# Metaflow names a Config that cannot load this way ("configuration file 'x' could not be read for 'deps'").
CONFIG_NAMED = re.compile(r"for '([^']+)'")


@dataclass(frozen=True)
class FlowReport:
    file: str
    flow: str | None = None
    steps: tuple[StepRequirement, ...] = ()
    error: str | None = None
    step_errors: dict = field(default_factory=dict)
    configs: tuple[str, ...] = ()              # the names of the flow's Configs
    needs_datastore: str | None = None         # loads only with this (cloud) datastore


@dataclass(frozen=True)
class DiscoveryOptions:
    timeout: float
    mode: str = "fork"
    cache_folder: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    configs: tuple[tuple[str, str, str], ...] = ()   # ("config" | "config-value", name, path or value)
    datastore: str = "local"                         # the datastore flows load with (Metaflow's default)
    uv_projects: bool = True                         # flows declaring nothing in a uv project are uv flows

    @classmethod
    def of(cls, settings, configs: tuple[tuple[str, str, str], ...] = ()) -> "DiscoveryOptions":
        return cls(settings["CONDA_MFCI_DISCOVERY_TIMEOUT"], settings["CONDA_MFCI_DISCOVERY"],
                   settings.cache_dir / "discovery", flow_environment(settings), tuple(configs),
                   settings["DEFAULT_DATASTORE"], settings["CONDA_MFCI_UV_PROJECTS"])

    def on_datastore(self, datastore: str) -> "DiscoveryOptions":
        """The same, for flows that load only with a cloud datastore: that datastore, with a
        placeholder root unless one is configured (no credential is given either way)."""
        root = f"METAFLOW_DATASTORE_SYSROOT_{datastore.upper()}"
        environment = {**self.environment, "METAFLOW_DEFAULT_DATASTORE": datastore}
        environment.setdefault(root, PLACEHOLDER_ROOTS.get(datastore, f"{datastore}://mfci-discovery/placeholder"))
        return replace(self, environment=environment, datastore=datastore)


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


def _flow_request(path: Path, folder: Path, index: int, options: DiscoveryOptions) -> dict:
    return {"file": str(path.absolute()), "configs": [list(c) for c in options.configs],
            **{part: str(folder / f"{index}.{part}") for part in ("output", "log", "depends", "about")}}


def dump_flow(path: Path, options: DiscoveryOptions, python: str = sys.executable) -> FlowReport:
    """One flow in a fresh python (`flow_runner`'s single-flow request)."""
    display = str(path)
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        flow = _flow_request(path, Path(scratch), 0, options)
        try:
            done = run([python, "-m", "mfci.flow_runner"], timeout=options.timeout, what="loading the flow",
                       cwd=path.parent.absolute(), env=_with_scratch(options.environment, scratch),
                       input=json.dumps({"flow": flow}))
        except ToolTimedOut:
            return _timed_out(display, options.timeout)
        except ToolFailed as error:
            return FlowReport(display, error=str(error))
        data = read_json_file(Path(flow["output"]))
        if done.returncode != 0 or not isinstance(data, dict):
            return _failure(display, _log_of(flow) or done.stderr or done.stdout, path.name,
                            read_json_file(Path(flow["about"])), options)
    return _report(display, data, options.uv_projects)


def _log_of(flow: dict) -> str:
    log = Path(flow["log"])
    return log.read_text(errors="replace") if log.exists() else ""


def _timed_out(display: str, timeout: float) -> FlowReport:
    return FlowReport(display, error=f"timed out after {timeout:.0f}s while loading the flow")


def _failure(display: str, output: str, file_name: str, about, options: DiscoveryOptions) -> FlowReport:
    """A flow that did not load, as one line: Metaflow's (or Python's) own words, with the
    flow's name and, when a Config is why, the Config's."""
    message = _last_error_line(output, file_name)
    needs = NEEDS_DATASTORE.search(output)
    if needs and options.datastore == "local":
        return FlowReport(display, error=message, needs_datastore=needs[1])
    if not isinstance(about, dict) or not isinstance(about.get("flow"), str):
        return FlowReport(display, error=message)
    flow, configs = about["flow"], dict(about.get("configs") or {})
    given = {name for _, name, _ in options.configs}
    named = [name for name in CONFIG_NAMED.findall(message) if name in configs]
    unset = [name for name, has_default in configs.items() if not has_default and name not in given]
    if named:
        message = f"Config '{named[0]}' cannot load: {message}"
    elif unset:
        name = unset[0]
        message = (f"Config '{name}' has no value (it has no default; pass --config {name} PATH or "
                   f"--config-value {name} VALUE): {message}")
    return FlowReport(display, flow, error=f"{flow}: {message}", configs=tuple(configs))


def _report(display: str, data: dict, uv_projects: bool) -> FlowReport:
    if "needs_datastore" in data:   # a kept answer: this flow loads only with that datastore
        return FlowReport(display, error=data.get("error"), needs_datastore=data["needs_datastore"])
    flow, steps = data["flow"], data["steps"]
    # Under --environment=pypi/conda every step gets an environment; a flow that
    # declares none anywhere is not run that way, so its steps are skipped, unless it
    # is in a uv project (its folder's, as Metaflow finds it from there): then it is run
    # with --environment=uv.
    declared = any(s.get("declared") for s in steps.values())
    project = None if declared or not uv_projects or not data.get("uv") else find_project(Path(display).parent)
    if project is not None:
        try:
            steps = {name: project_request(request, project) if "error" not in request else request
                     for name, request in data["uv"].items()}
        except WorkError as error:   # the lock cannot be read
            return FlowReport(display, flow, error=f"{flow}: {error}", configs=tuple(data.get("configs", ())))
        declared = True
    requirements, errors = [], {}
    for name, request in steps.items():
        if "error" in request:
            errors[name] = request["error"]
            continue
        requirement = StepRequirement.from_json(display, flow, name, request)
        if not declared:
            requirement = StepRequirement(display, flow, name, uses_environment=False)
        requirements.append(requirement)
    return FlowReport(display, flow, tuple(requirements), step_errors=errors, configs=tuple(data.get("configs", ())))


@dataclass(frozen=True)
class Discovery:
    reports: list[FlowReport]
    notes: list[str]
    scanned: int = 0     # Python files looked at

    @property
    def failed(self) -> int:
        """Flow files that could not be read or loaded."""
        return sum(1 for report in self.reports if report.error)


def discover(paths: list[str], jobs: int, options: DiscoveryOptions, excludes: tuple[str, ...] = ()) -> Discovery:
    scan = find_flow_files(paths, excludes)
    reports = _load(scan.files, jobs, options)
    again: dict[str, list[Path]] = {}
    for path, report in reports.items():
        if report.needs_datastore:
            again.setdefault(report.needs_datastore, []).append(path)
    for datastore, files in again.items():
        reports |= _load(files, jobs, options.on_datastore(datastore))
    unreadable = [FlowReport(str(path), error=why) for path, why in scan.problems]
    return Discovery(unreadable + [reports[path] for path in scan.files], scan.notes, scan.scanned)


def _load(files: list[Path], jobs: int, options: DiscoveryOptions) -> dict[Path, FlowReport]:
    jobs = max(1, min(jobs, os.cpu_count() or 1))  # flows are CPU-bound: one per core at most
    if options.mode == "subprocess" or not hasattr(os, "fork"):
        return dict(zip(files, _in_fresh_processes(files, jobs, options)))
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        environment = _with_scratch(options.environment, scratch)
        cache = DiscoveryCache(options.cache_folder, environment, options.configs) if options.cache_folder else None
        reports: dict[Path, FlowReport] = {}
        for path in files:
            dump = cache.get(path) if cache else None
            if dump is not None:
                reports[path] = _report(str(path), dump, options.uv_projects)
        # A folder that holds its own metaflow_extensions changes what `import metaflow`
        # loads for its flows: those run in a fresh python, as they would by hand.
        forkable = [p for p in files if p not in reports and not (p.parent / "metaflow_extensions").exists()]
        reports |= _forked(forkable, jobs, scratch, environment, cache, options)
        rest = [p for p in files if p not in reports]
        reports |= dict(zip(rest, _in_fresh_processes(rest, jobs, options)))
    return reports


def _in_fresh_processes(files: list[Path], jobs: int, options: DiscoveryOptions) -> list[FlowReport]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda f: dump_flow(f, options), files))


def _forked(files: list[Path], jobs: int, scratch: str, environment: dict, cache: DiscoveryCache | None,
            options: DiscoveryOptions) -> dict[Path, FlowReport]:
    """Reports of the flows `flow_runner` ran; a flow it could not report on is left out
    (the caller runs it in a fresh python)."""
    if not files:
        return {}
    work = Path(scratch, "flows")
    work.mkdir()
    timeout = options.timeout
    flows = [_flow_request(path, work, index, options) for index, path in enumerate(files)]
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
            reports[path] = _failure(str(path), _log_of(flow), path.name, read_json_file(Path(flow["about"])), options)
            if not reports[path].needs_datastore:
                continue
            dump = {"needs_datastore": reports[path].needs_datastore, "error": reports[path].error}
        used = read_json_file(Path(flow["depends"]))
        if cache and isinstance(used, dict):
            cache.put(path, dump, dependency_digests(used, environment, ignored))
        reports[path] = _report(str(path), dump, options.uv_projects)
    return reports
