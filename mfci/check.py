"""`mfci check`: is every step environment under the paths published for every arch?

The pull-request gate, like a lockfile check: the same discovery and plan as `mfci warm`
and the same hit test, one small read per (spec_id, arch); nothing resolved, nothing written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .config import Settings
from .errors import WorkError
from .lookup import published
from .plan import Plan, PlanOptions, plan_flows
from .pythons import KnownPythons
from .status import Status
from .store import Store


def check(settings: Settings, store: Store, options: PlanOptions, known: KnownPythons | None = None) -> Plan:
    plan = plan_flows(options, settings, known)

    def one(key: tuple[str, str]) -> None:
        try:
            pointer = published(store, settings.layout, settings.policy, *key)
        except WorkError as error:  # a malformed pointer: that pair's rows fail, by name
            plan.fail(*key, str(error))
            return
        if pointer:
            plan.settle(*key, status=Status.HIT, env_id=pointer.env_id, resolved_by=pointer.resolved_by,
                        resolved_at=pointer.resolved_at)
        else:
            plan.settle(*key, status=Status.MISSING)

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        list(pool.map(one, sorted(plan.specs)))
    return plan
