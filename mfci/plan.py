"""From discovered flows to the work list: one row per (step, arch, python), and the
distinct (spec_id, arch) pairs that rows share — each resolved at most once — optionally
cut into the share of one shard of a matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

from .discover import Discovery, DiscoveryOptions, FlowReport, discover
from .errors import MfciError, WorkError
from .pythons import KnownPythons
from .record import EnvRecord
from .shard import Shard
from .spec import EnvSpec, SpecInputs, StepRequirement, build_spec, step_pythons
from .status import Status


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
        }


@dataclass(frozen=True)
class PlanOptions:
    """What `warm` and `check` cover: flows under paths, archs, pythons for unpinned steps."""

    paths: list[str]
    archs: list[str]
    pythons: list[str]
    jobs: int
    shard: Shard = Shard()


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)   # {file, step, message}
    specs: dict[tuple[str, str], EnvSpec] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)     # files passed over, and why

    def rows_for(self, spec_id: str, arch: str) -> list[Row]:
        return [r for r in self.rows if r.spec and r.spec.spec_id == spec_id and r.arch == arch]

    def settle(self, spec_id: str, arch: str, **outcome) -> list[Row]:
        """Give every row of a (spec_id, arch) pair its outcome (status, env_id, ...); returns them."""
        rows = self.rows_for(spec_id, arch)
        for row in rows:
            for name, value in outcome.items():
                setattr(row, name, value)
        return rows

    def fail(self, spec_id: str, arch: str, message: str) -> list[Row]:
        """Every row of a pair failed: one error line per flow step."""
        rows = self.settle(spec_id, arch, status=Status.FAILED, message=message)
        self.errors += [{"file": row.requirement.file, "step": row.requirement.step,
                         "message": f"{row.requirement.flow} on {arch}: {message}"} for row in rows]
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
                    notes=list(self.notes))


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


def plan_flows(options: PlanOptions, discovery: DiscoveryOptions, inputs: SpecInputs,
               known: KnownPythons | None = None) -> Plan:
    """Every flow under the paths, discovered and planned: this shard's share of the work."""
    found: Discovery = discover(options.paths, options.jobs, discovery)
    plan = make_plan(found.reports, options.archs, options.pythons, inputs, known)
    plan.notes = list(found.notes)
    return plan.share(options.shard)
