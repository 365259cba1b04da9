"""Options and helpers the commands share."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer

from ..arch import ALL_ARCHS, current_arch
from ..config import Settings
from ..discover import DiscoveryOptions, discover
from ..errors import UsageError, WorkError
from ..lookup import LocalPins, find, miss_reason
from ..named import NamedEnv, find_named
from ..plan import Plan, PlanOptions, counted
from ..pythons import KnownPythons, known_pythons
from ..record import EnvRecord
from ..secrets import scrub_text
from ..shard import Shard
from ..spec import StepRequirement, build_spec

ROOT = typer.Option(None, "--root", help="Store root: a path, file://, s3://, gs:// or azure:// URL. "
                    "Default: by Metaflow's datastore (see README).")
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout.")
PYTHON = typer.Option(None, "--python", help="Python X.Y for a step that does not pin one "
                      "(default: CONDA_MFCI_PYTHON, what a run uses).")
# The options of the commands that cover every flow under some paths (warm, check).
PATHS = typer.Argument(None, help="Flow files or folders (default: .).")
ARCHS = typer.Option(None, "--arch", help="Target arch; repeatable. Default: CONDA_ALL_ARCHS.")
PYTHONS = typer.Option(None, "--python", help="Python X.Y for steps that do not pin one; repeatable.")
EXCLUDES = typer.Option(None, "--exclude", metavar="GLOB", help="Leave out files or folders matching GLOB "
                        "(as .gitignore reads it: no slash = a name at any depth); repeatable.")
CONFIGS = typer.Option(None, "--config", metavar="NAME PATH", help="Give flows that declare Config NAME the "
                       "file PATH (Metaflow's --config); repeatable.")
CONFIG_VALUES = typer.Option(None, "--config-value", metavar="NAME VALUE", help="Give flows that declare "
                             "Config NAME the value VALUE (Metaflow's --config-value); repeatable.")
# Resolutions and downloads mostly wait on the index: more of them than cores pays off.
JOBS = typer.Option(max(8, os.cpu_count() or 1), "--jobs", "-j", min=1,
                    help="Parallel resolutions and downloads (flows run at most one per core).")
# How warm and resolve treat what is already published.
REFRESH = typer.Option(False, "--refresh", help="Resolve again even when published (the seed's --force); "
                       "pointers move to the new resolution.")
UPGRADE = typer.Option(None, "--upgrade-package", "-P", metavar="NAME",
                       help="Re-resolve published environments that hold NAME, keeping their other versions "
                       "where they still fit; repeatable.")
DRY_RUN = typer.Option(False, "--dry-run", help="Say what would be resolved or published; write nothing.")


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj


def check_archs(settings: Settings, archs: list[str] | None) -> list[str]:
    chosen = archs or settings["CONDA_ALL_ARCHS"]
    unknown = [a for a in chosen if a not in ALL_ARCHS]
    if unknown:
        raise UsageError(f"unknown arch {unknown[0]!r} (known: {', '.join(ALL_ARCHS)})")
    return list(dict.fromkeys(chosen))


def check_pythons(settings: Settings, pythons: list[str] | None) -> tuple[list[str], KnownPythons]:
    """The --python values (else CONDA_MFCI_PYTHON), each a real CPython release (else exit 2)."""
    known = known_pythons(dict(settings.environ))
    given = list(dict.fromkeys(pythons or []))
    for version in given or [settings["CONDA_MFCI_PYTHON"]]:
        try:
            known.check(version)
        except ValueError as error:
            name = "--python" if given else "METAFLOW_CONDA_MFCI_PYTHON"
            raise UsageError(f"{name} {version!r}: {error}") from None
    return given or [settings["CONDA_MFCI_PYTHON"]], known


def flow_options(settings: Settings, paths: Optional[List[str]], archs: Optional[List[str]],
                 pythons: Optional[List[str]], jobs: int, shard: str | None = None,
                 excludes: Optional[List[str]] = None, configs: Optional[List[str]] = None,
                 config_values: Optional[List[str]] = None) -> tuple[PlanOptions, KnownPythons]:
    chosen, known = check_pythons(settings, pythons)
    options = PlanOptions(paths or ["."], check_archs(settings, archs), chosen, jobs,
                          Shard.parse(shard) if shard else Shard(), tuple(excludes or ()),
                          flow_configs(configs, config_values))
    return options, known


def flow_configs(configs: Optional[List[str]], values: Optional[List[str]]) -> tuple[tuple[str, str, str], ...]:
    """--config NAME PATH and --config-value NAME VALUE (each pair joined as NAME=VALUE by
    the command line, see cli.PAIRS) as discovery passes them to flows: each PATH absolute
    (flows load in their own folder), and existing (else exit 2)."""
    given = []
    for option, pairs in (("config", configs), ("config-value", values)):
        for pair in pairs or ():
            name, separator, value = pair.partition("=")
            if not separator or not name:
                raise UsageError(f"--{option} takes two values, NAME and {'PATH' if option == 'config' else 'VALUE'}")
            if option == "config":
                file = Path(value).expanduser()
                if not file.is_file():
                    raise UsageError(f"--config {name} {value}: no such file")
                value = str(file.absolute())
            given.append((option, name, value))
    return tuple(given)


def report(plan: Plan, command: str, statuses: tuple[str, ...], where: str, as_json: bool, **extra) -> None:
    """Each error as one line and the counts (flows, then step environments per status) on
    stderr; with --json, the rows on stdout."""
    for error in plan.errors:
        say(f"error: {error['file']}" + (f" step {error['step']}" if error["step"] else "") + f": {error['message']}")
    if plan.flows:
        counts = Counter(str(row.status) for row in plan.rows)
        failed = f", {plan.failed_flows} failed to load" if plan.failed_flows else ""
        say(f"mfci {command}: {counted(plan.flows, 'flow file')}{failed}; step environments: "
            + ", ".join(f"{counts[s]} {s}" for s in statuses) + f"; {where}")
    if as_json:
        emit_json({"envs": [row.to_json() for row in plan.rows], "errors": plan.errors,
                   "discovery": plan.counts(), **extra})


def step_requirement(settings: Settings, flow_file: Path, step: str, configs: tuple = ()) -> StepRequirement:
    if not flow_file.is_file():
        raise UsageError(f"{flow_file}: no such flow file")
    found = discover([str(flow_file)], 1, DiscoveryOptions.of(settings, configs))
    if not found.reports:
        raise UsageError(f"{flow_file}: not a flow file")
    [flow] = found.reports
    if flow.error:
        raise WorkError(f"{flow_file}: {flow.error}")
    if step in flow.step_errors:
        raise WorkError(f"{flow_file} step {step}: {flow.step_errors[step]}")
    for requirement in flow.steps:
        if requirement.step == step:
            if not requirement.uses_environment:
                raise UsageError(f"{flow_file} step {step} has no @pypi/@conda environment")
            return requirement
    names = ", ".join(r.step for r in flow.steps)
    raise UsageError(f"{flow_file} has no step {step!r} (steps: {names})")




STEP = typer.Option(None, "--step", help="The step name (with FLOW_FILE).")
ALIAS = typer.Option(None, "--alias", help="A named environment NAME[:TAG] instead of a flow's step.")
PATHSPEC = typer.Option(None, "--pathspec", help="FLOW/RUN/STEP: the environment that step of a run ran in "
                        "(its task's conda_env_id metadata, read with Metaflow's client).")
# The arch of one environment (lookup, export): by default the one it is used on.
STEP_ARCH = typer.Option(None, "--arch", help="Arch (default: the step's: this machine's, or the one a remote "
                         "step runs on; for --pathspec, the one it ran on).")


def find_record(settings: Settings, flow_file: Path | None, step: str | None, alias: str | None, arch: str | None,
                python: str | None, store, pathspec: str | None = None, configs: tuple = ()) -> EnvRecord:
    """The environment a flow's step, an alias or a run's step gets on an arch (None: the
    arch the step runs on — this machine's unless it is a remote step; for a run's step,
    the arch it ran on); exit 1 with a hint on a miss."""
    layout = settings.layout
    if sum(bool(given) for given in (flow_file or step, alias, pathspec)) > 1:
        raise UsageError("give one of FLOW_FILE --step STEP, --alias NAME[:TAG] or --pathspec FLOW/RUN/STEP, "
                         "not both")
    if alias or pathspec:
        named = NamedEnv(name=alias, pathspec=pathspec)
        return find_named(store, layout, settings.policy, named, arch or (None if pathspec else current_arch()))
    if not flow_file or not step:
        raise UsageError("give FLOW_FILE --step STEP, --alias NAME[:TAG] or --pathspec FLOW/RUN/STEP")
    requirement = step_requirement(settings, flow_file, step, configs)
    arch = arch or requirement.remote_arch or current_arch()
    spec = build_spec(requirement, settings.spec_inputs, arch, python)
    record = find(store, layout, spec.spec_id, arch, settings.policy, LocalPins(settings.cache_dir / "pins"))
    if record is None and not settings.policy.remote:
        raise WorkError(f"{flow_file} step {step}: {miss_reason(settings.policy, spec.spec_id, arch, store.url)}")
    if record is None:
        raise WorkError(f"no environment for {flow_file} step {step} on {arch} (spec {spec.spec_id[:12]}) "
                        f"in {store.url}; run `mfci warm {flow_file}`")
    return record


def emit_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


def say(text: str) -> None:
    print(scrub_text(text), file=sys.stderr)
