"""`mfci check`: is every step environment under the paths published for every arch?

The pull-request gate, like a lockfile check: the same discovery and plan as `mfci warm`
and the same hit test, one small read per (spec_id, arch); nothing resolved, nothing written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from .layout import Layout
from .plan import Plan
from .store import Store
from .warm import Outcome, WarmOptions, plan_flows, published


def check(store: Store, options: WarmOptions) -> Plan:
    plan = plan_flows(options)
    layout = Layout.from_config()

    def one(key: tuple[str, str]) -> None:
        pointer = published(store, layout, *key)
        if pointer:
            plan.settle(*key, **asdict(Outcome.hit(pointer)))
        else:
            plan.settle(*key, status="missing")

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        list(pool.map(one, sorted(plan.specs)))
    return plan
