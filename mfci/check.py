"""`mfci check`: is every step environment under the paths published for every arch?

The pull-request gate, like a lockfile check: the same discovery and plan as `mfci warm`,
one small read per (spec_id, arch); nothing resolved, nothing written. A pair is present
when a run would find it: under CONDA_USE_REMOTE_LATEST=:none: a run never consults the
store, so only what this machine already used counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .config import Settings
from .consumers import check_consumers
from .errors import WorkError
from .lookup import LocalPins, published
from .plan import Plan, PlanOptions, plan_flows
from .pythons import KnownPythons
from .status import Status
from .store import Store


def check(settings: Settings, store: Store, options: PlanOptions, known: KnownPythons | None = None) -> Plan:
    plan = plan_flows(options, settings, known)

    pins = LocalPins(settings.cache_dir / "pins")
    if not settings.policy.remote:
        plan.notes.append("CONDA_USE_REMOTE_LATEST=:none:: runs do not consult the store, so only environments "
                          "this machine already used count as present")

    def one(key: tuple[str, str]) -> None:
        try:
            found = published(store, settings.layout, settings.policy, *key) if settings.policy.remote \
                else pins.get(*key)
        except WorkError as error:  # a malformed pointer: that pair's rows fail, by name
            plan.fail(*key, str(error))
            return
        if found:
            plan.settle(*key, status=Status.HIT, env_id=found.env_id, resolved_by=found.resolved_by,
                        resolved_at=found.resolved_at)
        else:
            plan.settle(*key, status=Status.MISSING)

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        list(pool.map(one, sorted(plan.specs)))
    check_consumers(plan, store, settings, options.jobs)
    return plan
