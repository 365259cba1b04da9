"""From discovered flows to the work list: one row per (step, arch, python), and the
distinct (spec_id, arch) pairs that rows share — each resolved at most once — optionally
cut into the share of one shard of a matrix."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .discover import FlowReport
from .errors import MfciError, UsageError
from .spec import EnvSpec, SpecInputs, StepRequirement, build_spec


@dataclass
class Row:
    requirement: StepRequirement
    arch: str
    spec: EnvSpec | None = None
    status: str = "pending"       # resolved | hit | failed | skipped (check: hit | missing)
    env_id: str | None = None
    message: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    size: int | None = None       # bytes of the environment's package files, when resolved here
    seconds: float | None = None  # time this resolution took, when resolved here

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
            "size": self.size,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` matrix jobs sharing one work list (1-based, as users count).

    A (spec_id, arch) pair belongs to the shard its own hash names, not to a position in
    the list: shards agree on every pair they both see even if one of them failed to load
    a flow the others loaded, so the shards never overlap and never leave a gap."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise UsageError(f"--shard {text!r}: expected i/n with 1 <= i <= n, such as 2/3")
        return cls(int(match[1]), int(match[2]))

    @property
    def whole(self) -> bool:
        return self.count == 1

    def owns(self, spec_id: str, arch: str) -> bool:
        digest = hashlib.sha256(f"{spec_id}/{arch}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)   # {file, step, message}
    specs: dict[tuple[str, str], EnvSpec] = field(default_factory=dict)

    def rows_for(self, spec_id: str, arch: str) -> list[Row]:
        return [r for r in self.rows if r.spec and r.spec.spec_id == spec_id and r.arch == arch]

    def settle(self, spec_id: str, arch: str, **outcome) -> list[Row]:
        """Give every row of a (spec_id, arch) pair its outcome (status, env_id, ...); returns them."""
        rows = self.rows_for(spec_id, arch)
        for row in rows:
            for name, value in outcome.items():
                setattr(row, name, value)
        return rows

    def share(self, shard: Shard) -> "Plan":
        """The part of the plan one shard works on. What belongs to no pair (steps without
        an environment, flows or specs that failed) is every shard's: each one reports it,
        so a broken flow fails every job of the matrix, whichever shard it would have fed."""
        if shard.whole:
            return self
        return Plan(rows=[r for r in self.rows if not r.spec or shard.owns(r.spec.spec_id, r.arch)],
                    errors=list(self.errors),
                    specs={key: spec for key, spec in self.specs.items() if shard.owns(*key)})


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
