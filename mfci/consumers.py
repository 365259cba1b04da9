"""Steps that use a named environment (@named_env, the seed's name=/pathspec=) resolve
nothing in `warm` or `check`: each (step, arch) is a hit when what it names gives an
environment for that arch, else it fails with the command that publishes one. A name
built from values only a run has (`@{METAFLOW_RUN_ID}`) is looked up when the step runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .errors import MfciError
from .named import NamedEnv, find_named
from .plan import Plan, Row
from .status import Status


def check_consumers(plan: Plan, store, settings, jobs: int) -> list[str]:
    """Settles every consumer row of the plan; returns the notes it added (steps left to run time)."""
    rows = [row for row in plan.rows if row.requirement.named and row.status == Status.PENDING]
    notes: dict[str, None] = {}

    def one(row: Row) -> None:
        named = NamedEnv.from_json(row.requirement.named)
        where = f"{row.requirement.file} step {row.requirement.step}"
        try:
            named = named.substituted(settings.environ)
        except MfciError:
            row.status = Status.SKIPPED
            notes[f"{where}: uses {named}, whose values only a run has; looked up when it runs"] = None
            return
        try:
            record = find_named(store, settings.layout, settings.policy, named, row.arch)
        except MfciError as error:
            row.status, row.message = Status.FAILED, str(error)
            plan.errors.append({"file": row.requirement.file, "step": row.requirement.step,
                                "message": f"{row.requirement.flow} on {row.arch}: {error}"})
            return
        row.status, row.env_id, row.reference = Status.HIT, record.env_id, record
        row.resolved_by, row.resolved_at = record.resolved_by, record.resolved_at

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, rows))
    plan.notes += list(notes)
    return list(notes)
