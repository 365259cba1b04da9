"""From discovered flows to the work list: one row per (step, arch, python), and the
distinct (spec_id, arch) pairs that rows share — each resolved at most once."""

from __future__ import annotations

from dataclasses import dataclass, field

from .discover import FlowReport
from .errors import MfciError
from .spec import EnvSpec, SpecInputs, StepRequirement, build_spec


@dataclass
class Row:
    requirement: StepRequirement
    arch: str
    spec: EnvSpec | None = None
    status: str = "pending"       # resolved | hit | failed | skipped
    env_id: str | None = None
    message: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None

    def to_json(self) -> dict:
        return {
            "file": self.requirement.file,
            "flow": self.requirement.flow,
            "step": self.requirement.step,
            "arch": self.arch,
            "python": self.spec.python if self.spec else None,
            "spec_id": self.spec.spec_id if self.spec else None,
            "env_id": self.env_id,
            "status": self.status,
        }


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)   # {file, step, message}
    specs: dict[tuple[str, str], EnvSpec] = field(default_factory=dict)

    def rows_for(self, spec_id: str, arch: str) -> list[Row]:
        return [r for r in self.rows if r.spec and r.spec.spec_id == spec_id and r.arch == arch]


def make_plan(reports: list[FlowReport], archs: list[str], pythons: list[str],
              inputs: SpecInputs) -> Plan:
    plan = Plan()
    for report in reports:
        if report.error:
            plan.errors.append({"file": report.file, "step": None, "message": report.error})
        for step, message in report.step_errors.items():
            plan.errors.append({"file": report.file, "step": step, "message": message})
        for requirement in report.steps:
            _add_step(plan, requirement, archs, pythons, inputs)
    return plan


def _add_step(plan: Plan, requirement: StepRequirement, archs: list[str], pythons: list[str],
              inputs: SpecInputs) -> None:
    if not requirement.uses_environment:
        plan.rows += [Row(requirement, arch, status="skipped") for arch in archs]
        return
    for python in ([requirement.python] if requirement.python else pythons):
        try:
            spec = build_spec(requirement, inputs, python)
        except MfciError as error:
            plan.rows += [Row(requirement, arch, status="failed", message=str(error)) for arch in archs]
            plan.errors.append({"file": requirement.file, "step": requirement.step, "message": str(error)})
            continue
        for arch in archs:
            plan.rows.append(Row(requirement, arch, spec))
            plan.specs[(spec.spec_id, arch)] = spec
