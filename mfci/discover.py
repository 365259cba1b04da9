"""Finding flows and asking Metaflow itself what each step needs.

Each flow file runs in its own process (`python flow.py --environment=pypi mfci dump`),
with the flow's folder as working directory, a timeout, its own process group (killed
whole on timeout) and an environment without cloud credentials: discovery executes
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
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .discovery_cache import DiscoveryCache, dependency_digests
from .errors import UsageError
from .flow_runner import dump_arguments
from .spec import StepRequirement

SKIPPED_FOLDERS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".metaflow",
                   "site-packages", ".tox", ".mypy_cache", ".pytest_cache", "build", "dist"}
SECRET_VARIABLES = re.compile(
    r"^(AWS_|AZURE_|GOOGLE_|GCLOUD_|GCP_|CLOUDSDK_|ARM_|ACTIONS_ID_TOKEN|ACTIONS_RUNTIME_TOKEN)"
    r"|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|API_KEY|CONNECTION_STRING",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FlowReport:
    file: str
    flow: str | None = None
    steps: tuple[StepRequirement, ...] = ()
    error: str | None = None
    step_errors: dict = field(default_factory=dict)


def find_flow_files(paths: list[str]) -> list[Path]:
    """Python files that import Metaflow and run a flow as a script."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_file():
            found.append(path)
            continue
        for root, folders, files in os.walk(path):
            folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS and not f.startswith("."))
            found += [Path(root, name) for name in sorted(files)
                      if name.endswith(".py") and _looks_like_flow(Path(root, name))]
    return found


def _looks_like_flow(path: Path) -> bool:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    if "metaflow" not in text or "FlowSpec" not in text:
        return False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return True  # a broken flow is still a flow: report it
    has_class = any(isinstance(node, ast.ClassDef) and node.bases for node in tree.body)
    has_main = "__main__" in text
    return has_class and has_main


def scrubbed_environment(scratch: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not SECRET_VARIABLES.search(k)}
    environment.setdefault("METAFLOW_USER", os.environ.get("METAFLOW_USER") or "mfci")
    # Keep discovery from leaving a .metaflow folder in the user's repository.
    environment.setdefault("METAFLOW_DATASTORE_SYSROOT_LOCAL", scratch)
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


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


def dump_flow(path: Path, timeout: float, python: str = sys.executable) -> FlowReport:
    display = str(path)
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        output = Path(scratch, "dump.json")
        command = [python, path.name, *dump_arguments(str(output))]
        process = subprocess.Popen(
            command, cwd=path.parent.absolute(), env=scrubbed_environment(scratch),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return _timed_out(display, timeout)
        if process.returncode != 0 or not output.exists():
            return FlowReport(display, error=_last_error_line(stderr or stdout, path.name))
        data = json.loads(output.read_text())
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


def discover(paths: list[str], jobs: int, timeout: float, mode: str = "fork",
             cache_folder: Path | None = None) -> list[FlowReport]:
    files = find_flow_files(paths)
    jobs = max(1, min(jobs, os.cpu_count() or 1))  # flows are CPU-bound: one per core at most
    if mode == "subprocess" or not hasattr(os, "fork"):
        return _in_fresh_processes(files, jobs, timeout)
    with tempfile.TemporaryDirectory(prefix="mfci-discover-") as scratch:
        environment = scrubbed_environment(scratch)
        cache = DiscoveryCache(cache_folder, environment) if cache_folder else None
        reports: dict[Path, FlowReport] = {}
        for path in files:
            dump = cache.get(path) if cache else None
            if dump is not None:
                reports[path] = _report(str(path), dump)
        # A folder that holds its own metaflow_extensions changes what `import metaflow`
        # loads for its flows: those run in a fresh python, as they would by hand.
        forkable = [p for p in files if p not in reports and not (p.parent / "metaflow_extensions").exists()]
        reports |= _forked(forkable, jobs, timeout, scratch, environment, cache)
        rest = [p for p in files if p not in reports]
        reports |= dict(zip(rest, _in_fresh_processes(rest, jobs, timeout)))
    return [reports[path] for path in files]


def discover_with_settings(paths: list[str], jobs: int) -> list[FlowReport]:
    """discover() as the configuration says: timeout, mode, and the cache folder."""
    from . import config

    return discover(paths, jobs, config.get("CONDA_MFCI_DISCOVERY_TIMEOUT"), config.get("CONDA_MFCI_DISCOVERY"),
                    config.cache_dir() / "discovery")


def _in_fresh_processes(files: list[Path], jobs: int, timeout: float) -> list[FlowReport]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda f: dump_flow(f, timeout), files))


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
    runner = subprocess.Popen(
        [sys.executable, "-m", "mfci.flow_runner"], cwd=scratch, env=environment,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = runner.communicate(json.dumps(request), timeout=timeout * (len(files) + 1))
    except subprocess.TimeoutExpired:
        runner.terminate()  # it kills its children's process groups
        stdout, _ = runner.communicate()
    ignored = (sys.prefix, sys.base_prefix, sys.exec_prefix, scratch)
    reports = {}
    for line in stdout.splitlines():
        done = json.loads(line)
        path, flow = files[done["index"]], flows[done["index"]]
        if done["timed_out"]:
            reports[path] = _timed_out(str(path), timeout)
            continue
        output = Path(flow["output"])
        if done["returncode"] != 0 or not output.exists():
            log = Path(flow["log"]).read_text(errors="replace") if Path(flow["log"]).exists() else ""
            reports[path] = FlowReport(str(path), error=_last_error_line(log, path.name))
            continue
        dump = json.loads(output.read_text())
        if cache:
            used = json.loads(Path(flow["depends"]).read_text())
            cache.put(path, dump, dependency_digests(used, environment, ignored))
        reports[path] = _report(str(path), dump)
    return reports
