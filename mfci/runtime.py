"""What the Metaflow extension does at launch: look each step up, create local ones.

Called from metaflow_extensions/mfci with the settings it read once and the requests
Metaflow computed; returns where each step's environment is, and which steps were not
warmed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .arch import current_arch
from .config import Settings
from .create import env_folder, local_installer
from .lookup import LocalPins, find
from .record import EnvRecord
from .spec import StepRequirement, build_spec


@dataclass(frozen=True)
class Placement:
    record: EnvRecord
    python: Path | None      # the local interpreter; None for a remote step
    remote: bool
    root: str                # the store it came from, where a remote task fetches it again


@dataclass(frozen=True)
class Launch:
    placements: dict[str, Placement]
    missing: dict[str, str]  # step -> why


def place_steps(settings: Settings, flow: str, requests: dict[str, dict], echo: Callable[[str], None],
                datastore: str | None = None) -> Launch:
    """`datastore` is the flow's datastore type: it picks the store root, as in the seed.
    Steps are looked up, and echoed, in the order of `requests` (the flow's step order)."""
    store = settings.open_store(datastore=datastore)
    layout, inputs = settings.layout, settings.spec_inputs
    pins = LocalPins(settings.cache_dir / "pins")
    installer = None
    placements, missing = {}, {}
    for step, request in requests.items():
        requirement = StepRequirement.from_json("", flow, step, request)
        remote = requirement.remote_arch
        arch = remote or current_arch()
        spec = build_spec(requirement, inputs, arch)
        record = find(store, layout, spec.spec_id, arch, settings.policy, pins)
        if record is None:
            missing[step] = f"no environment published for spec {spec.spec_id[:12]} on {arch} in {store.url}"
            continue
        python = None
        if not remote:
            installer = installer or local_installer(settings, store, note=echo)
            python = installer.create(record, env_folder(settings.cache_dir, record.env_id)).python
        echo(f"[mfci] {step}: environment {record.env_id[:12]} ({arch}) from {store.url}")
        placements[step] = Placement(record, python, bool(remote), store.url)
    return Launch(placements, missing)


def bootstrap_command(settings: Settings, placement: Placement, prefix: str) -> str:
    """The shell line a remote task runs to build its environment from the store."""
    layout = settings.layout
    record = placement.record
    arguments = [
        "--root", placement.root,
        "--record", layout.record(record.spec_id, record.arch, record.env_id),
        "--installers", layout.installers,
        "--packages", layout.packages,
        "--prefix", prefix,
    ]
    return "python -m mfci.bootstrap " + " ".join(shlex.quote(a) for a in arguments)
