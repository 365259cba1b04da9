"""Options and helpers the commands share."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer

from .. import config
from ..alias import Alias
from ..config import ALL_ARCHS
from ..discover import discover_with_settings
from ..errors import UsageError, WorkError
from ..layout import Layout
from ..lookup import LocalPins, Policy, find, find_by_alias
from ..plan import Plan, Shard
from ..record import EnvRecord
from ..spec import EnvSpec, StepRequirement, build_spec, spec_inputs
from ..warm import WarmOptions

ROOT = typer.Option(None, "--root", help="Store root: a path, file://, s3://, gs:// or azure:// URL. "
                    "Default: by Metaflow's datastore (see README).")
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout.")
PYTHON = typer.Option(None, "--python", help="Python X.Y for a step that does not pin one "
                      "(default: CONDA_MFCI_PYTHON, what a run uses).")
# The options of the commands that cover every flow under some paths (warm, check).
PATHS = typer.Argument(None, help="Flow files or folders (default: .).")
ARCHS = typer.Option(None, "--arch", help="Target arch; repeatable. Default: CONDA_ALL_ARCHS.")
PYTHONS = typer.Option(None, "--python", help="Python X.Y for steps that do not pin one; repeatable.")
# Resolutions and downloads mostly wait on the index: more of them than cores pays off.
JOBS = typer.Option(max(8, os.cpu_count() or 1), "--jobs", "-j", min=1,
                    help="Parallel resolutions and downloads (flows run at most one per core).")


def check_archs(archs: list[str] | None) -> list[str]:
    chosen = archs or config.get("CONDA_ALL_ARCHS")
    unknown = [a for a in chosen if a not in ALL_ARCHS]
    if unknown:
        raise UsageError(f"unknown arch {unknown[0]!r} (known: {', '.join(ALL_ARCHS)})")
    return list(dict.fromkeys(chosen))


def flow_options(paths: Optional[List[str]], archs: Optional[List[str]], pythons: Optional[List[str]],
                 jobs: int, shard: str | None = None) -> WarmOptions:
    chosen = list(dict.fromkeys(pythons or [config.get("CONDA_MFCI_PYTHON")]))
    for version in chosen:
        if not version.replace(".", "").isdigit():
            raise UsageError(f"--python {version!r}: expected a version such as 3.11")
    return WarmOptions(paths or ["."], check_archs(archs), chosen, jobs,
                       Shard.parse(shard) if shard else Shard())


def report(plan: Plan, command: str, statuses: tuple[str, ...], where: str, as_json: bool, **extra) -> None:
    """Each error as one line and a count per status on stderr; with --json, the rows on stdout."""
    for error in plan.errors:
        say(f"error: {error['file']}" + (f" step {error['step']}" if error["step"] else "") + f": {error['message']}")
    counts = Counter(row.status for row in plan.rows)
    say(f"mfci {command}: " + ", ".join(f"{counts[s]} {s}" for s in statuses) + f" step environments {where}")
    if as_json:
        emit_json({"envs": [row.to_json() for row in plan.rows], "errors": plan.errors, **extra})


def step_requirement(flow_file: Path, step: str) -> StepRequirement:
    if not flow_file.is_file():
        raise UsageError(f"{flow_file}: no such flow file")
    [report] = discover_with_settings([str(flow_file)], 1)
    if report.error:
        raise WorkError(f"{flow_file}: {report.error}")
    if step in report.step_errors:
        raise WorkError(f"{flow_file} step {step}: {report.step_errors[step]}")
    for requirement in report.steps:
        if requirement.step == step:
            if not requirement.uses_environment:
                raise UsageError(f"{flow_file} step {step} has no @pypi/@conda environment")
            return requirement
    names = ", ".join(r.step for r in report.steps)
    raise UsageError(f"{flow_file} has no step {step!r} (steps: {names})")


def step_spec(flow_file: Path, step: str, python: str | None = None) -> EnvSpec:
    return build_spec(step_requirement(flow_file, step), spec_inputs(), python)


STEP = typer.Option(None, "--step", help="The step name (with FLOW_FILE).")
ALIAS = typer.Option(None, "--alias", help="A named environment NAME[:TAG] instead of a flow's step.")


def find_record(flow_file: Path | None, step: str | None, alias: str | None, arch: str,
                python: str | None, store) -> EnvRecord:
    """The environment a flow's step (or an alias) gets on an arch; exit 1 with a hint on a miss."""
    layout = Layout.from_config()
    if alias:
        if flow_file or step:
            raise UsageError("give either FLOW_FILE --step STEP or --alias NAME[:TAG], not both")
        name = Alias.parse(alias)
        record = find_by_alias(store, layout, name, arch)
        if record is None:
            raise WorkError(f"no environment named {name} for {arch} in {store.url}; "
                            f"publish it with `mfci resolve ... --alias {name}`")
        return record
    if not flow_file or not step:
        raise UsageError("give FLOW_FILE --step STEP, or --alias NAME[:TAG]")
    spec = step_spec(flow_file, step, python)
    policy = Policy.from_config()
    record = find(store, layout, spec.spec_id, arch, policy, LocalPins(config.cache_dir() / "pins"))
    if record is None:
        raise WorkError(f"no environment for {flow_file} step {step} on {arch} (spec {spec.spec_id[:12]}) "
                        f"in {store.url}; run `mfci warm {flow_file}`")
    return record


def emit_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


def say(text: str) -> None:
    print(text, file=sys.stderr)
