"""From discovered flows to the work list: one row per (step, arch, python), and the
distinct (spec_id, arch) pairs that rows share — each resolved at most once — optionally
cut into the share of one shard of a matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

from .arch import ALL_ARCHS
from .discover import Discovery, DiscoveryOptions, FlowReport, discover
from .errors import MfciError, WorkError
from .pythons import KnownPythons
from .record import EnvRecord
from .shard import Shard
from .spec import EnvSpec, SpecInputs, StepRequirement, build_spec, step_pythons
from .status import Status
from .uvlock import stale_lock


@dataclass
class Row:
    requirement: StepRequirement
    arch: str
    spec: EnvSpec | None = None
    status: Status = Status.PENDING
    env_id: str | None = None
    message: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    size: int | None = None       # bytes of the environment's package files, when resolved here
    seconds: float | None = None  # time this resolution took, when resolved here
    note: str | None = None       # resolved for its arch alone, when the others share an answer: why
    reference: EnvRecord | None = None  # a step using a named environment: the one it names

    def to_json(self) -> dict:
        python, spec_id = ((self.spec.python, self.spec.spec_id) if self.spec else
                           (self.reference.python, self.reference.spec_id) if self.reference else (None, None))
        return {
            "file": self.requirement.file,
            "flow": self.requirement.flow,
            "step": self.requirement.step,
            "arch": self.arch,
            "python": python,
            "spec_id": spec_id,
            "env_id": self.env_id,
            "status": str(self.status),
            "size": self.size,
            "seconds": self.seconds,
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True)
class PlanOptions:
    """What `warm` and `check` cover: flows under paths, archs, pythons for unpinned steps."""

    paths: list[str]
    archs: list[str]
    pythons: list[str]
    jobs: int
    shard: Shard = Shard()
    excludes: tuple[str, ...] = ()   # --exclude globs
    configs: tuple[tuple[str, str, str], ...] = ()   # --config / --config-value, as discovery gives them


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)   # {file, step, message}
    specs: dict[tuple[str, str], EnvSpec] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)     # files passed over, and why
    scanned: int = 0        # Python files discovery looked at
    flows: int = 0          # flow files among them
    failed_flows: int = 0   # flow files that could not be read or loaded

    def discovery_line(self, paths: list[str]) -> str:
        failed = f", {self.failed_flows} failed to load" if self.failed_flows else ""
        return (f"mfci: {counted(self.scanned, 'Python file')} scanned under {' '.join(paths)}: "
                f"{counted(self.flows, 'flow file')}{failed}")

    def counts(self) -> dict:
        return {"scanned": self.scanned, "flows": self.flows, "failed": self.failed_flows}

    def rows_for(self, spec_id: str, arch: str) -> list[Row]:
        return [r for r in self.rows if r.spec and r.spec.spec_id == spec_id and r.arch == arch]

    def settle(self, spec_id: str, arch: str, **outcome) -> list[Row]:
        """Give every row of a (spec_id, arch) pair its outcome (status, env_id, ...); returns them."""
        rows = self.rows_for(spec_id, arch)
        for row in rows:
            for name, value in outcome.items():
                setattr(row, name, value)
        return rows

    def fail(self, spec_id: str, arch: str, message: str, cause: str | None = None) -> list[Row]:
        """Every row of a pair failed: one error line per flow step, or, when the failure is
        a cause many pairs share (`cause`: a channel that cannot be reached), one line for it."""
        rows = self.settle(spec_id, arch, status=Status.FAILED, message=message)
        if cause is None:
            self.errors += [{"file": row.requirement.file, "step": row.requirement.step,
                             "message": f"{row.requirement.flow} on {arch}: {message}"} for row in rows]
        elif not any(error["file"] == cause and error["message"] == message for error in self.errors):
            self.errors.append({"file": cause, "step": None, "message": message})
        return rows

    def share(self, shard: Shard) -> "Plan":
        """The part of the plan one shard works on. What belongs to no pair (steps without
        an environment, flows or specs that failed) is every shard's: each one reports it,
        so a broken flow fails every job of the matrix, whichever shard it would have fed."""
        if shard.whole:
            return self
        return Plan(rows=[r for r in self.rows if not r.spec or shard.owns(r.spec.spec_id, r.arch)],
                    errors=list(self.errors),
                    specs={key: spec for key, spec in self.specs.items() if shard.owns(*key)},
                    notes=list(self.notes), scanned=self.scanned, flows=self.flows, failed_flows=self.failed_flows)


def counted(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def make_plan(reports: list[FlowReport], archs: list[str], pythons: list[str], inputs: SpecInputs,
              known: KnownPythons | None = None) -> Plan:
    plan = Plan()
    for report in reports:
        if report.error:
            plan.errors.append({"file": report.file, "step": None, "message": report.error})
        for step, message in report.step_errors.items():
            plan.errors.append({"file": report.file, "step": step, "message": message})
        for requirement in report.steps:
            _add_step(plan, requirement, archs, pythons, inputs, known)
    return plan


def _add_step(plan: Plan, requirement: StepRequirement, archs: list[str], pythons: list[str],
              inputs: SpecInputs, known: KnownPythons | None) -> None:
    if not requirement.uses_environment:
        plan.rows += [Row(requirement, arch, status=Status.SKIPPED) for arch in archs]
        return
    if requirement.named:  # it resolves nothing: `consumers` checks what it names
        plan.rows += [Row(requirement, arch) for arch in archs]
        return
    if requirement.remote_arch:
        # A remote step (@kubernetes, @batch…) runs on its compute's arch alone, whatever
        # the target archs are.
        archs = [requirement.remote_arch]
        if requirement.remote_arch not in ALL_ARCHS:
            message = f"runs remotely on {requirement.remote_arch!r}, which is not an arch ({', '.join(ALL_ARCHS)})"
            plan.rows.append(Row(requirement, requirement.remote_arch, status=Status.FAILED, message=message))
            plan.errors.append({"file": requirement.file, "step": requirement.step, "message": message})
            return
    try:
        chosen = step_pythons(requirement, pythons)
    except MfciError as error:
        chosen = [None]
        failure = str(error)
    for python in chosen:
        try:
            if python is None:
                raise WorkError(failure)
            if known is not None:
                known.check(python)
            specs = [build_spec(requirement, inputs, arch, python) for arch in archs]
        except (MfciError, ValueError) as error:
            plan.rows += [Row(requirement, arch, status=Status.FAILED, message=str(error)) for arch in archs]
            plan.errors.append({"file": requirement.file, "step": requirement.step, "message": str(error)})
            continue
        for arch, spec in zip(archs, specs):
            plan.rows.append(Row(requirement, arch, spec))
            plan.specs[(spec.spec_id, arch)] = spec


def plan_flows(options: PlanOptions, settings, known: KnownPythons | None = None) -> Plan:
    """Every flow under the paths, discovered and planned: this shard's share of the work.
    Paths that hold no flow at all are an error: a gate pointed at the wrong folder must fail."""
    discovery = DiscoveryOptions.of(settings, options.configs)
    found: Discovery = discover(options.paths, options.jobs, discovery, options.excludes)
    plan = make_plan(found.reports, options.archs, options.pythons, settings.spec_inputs, known)
    plan.notes = list(found.notes)
    plan.scanned, plan.flows, plan.failed_flows = found.scanned, len(found.reports), found.failed
    if not found.reports:
        plan.errors.append({"file": " ".join(options.paths), "step": None,
                            "message": f"no flow found ({counted(found.scanned, 'Python file')} scanned; a flow file "
                                       "defines a FlowSpec subclass and runs it under `if __name__ == \"__main__\"`)"})
    _note_unused_configs(plan, found.reports, discovery)
    _check_locks(plan, settings)
    return plan.share(options.shard)


def _check_locks(plan: Plan, settings) -> None:
    """A uv project whose lock is out of date with its pyproject is one error line (uv's
    own words), and none of its steps is warmed: stale pins are never published."""
    projects = dict.fromkeys(row.requirement.uv_project for row in plan.rows if row.spec and row.requirement.uv_project)
    for project in projects:
        why = stale_lock(project, settings.environ, settings["CONDA_MFCI_TOOL_TIMEOUT"])
        if why is None:
            continue
        plan.errors.append({"file": project.pyproject, "step": None, "message": why})
        for row in plan.rows:
            if row.spec and row.requirement.uv_project == project:
                plan.specs.pop((row.spec.spec_id, row.arch), None)
                row.status, row.message = Status.FAILED, why


def _note_unused_configs(plan: Plan, reports: list[FlowReport], discovery: DiscoveryOptions) -> None:
    """A --config NAME that no flow declares did nothing: say so (a misspelt name, usually)."""
    declared = {name for report in reports for name in report.configs}
    loaded = all(report.flow for report in reports)   # a flow that did not load may declare it
    for option, name, _ in discovery.configs:
        if loaded and name not in declared:
            plan.notes.append(f"--{option} {name}: no flow has a Config named {name!r}")
