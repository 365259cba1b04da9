"""What the Metaflow extension does at launch: look each step up, create local ones.

Called from metaflow_extensions/mfci with the requests Metaflow computed; returns where
each step's environment is, and which steps were not warmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config
from .cache import LocalPackages, PackageCache
from .create import create, current_arch, default_locks, env_folder
from .layout import Layout
from .lookup import LocalPins, Policy, find
from .record import EnvRecord
from .resolve.pypi_uv import uv_binary
from .spec import StepRequirement, build_spec, spec_inputs
from .store import open_store


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


def place_steps(flow: str, requests: dict[str, dict], echo: Callable[[str], None],
                datastore: str | None = None) -> Launch:
    """`datastore` is the flow's datastore type: it picks the store root, as in the seed."""
    store = open_store(datastore=datastore)
    layout = Layout.from_config()
    inputs = spec_inputs()
    cache_root = config.cache_dir()
    policy = Policy.from_config()
    pins = LocalPins(cache_root / "pins")
    packages = PackageCache(store, layout, LocalPackages(cache_root / "pkgs"), note=echo)
    placements, missing = {}, {}
    for step, request in requests.items():
        requirement = StepRequirement.from_json("", flow, step, request)
        remote = request.get("remote_arch")
        arch = remote or current_arch()
        spec = build_spec(requirement, inputs)
        record = find(store, layout, spec.spec_id, arch, policy, pins)
        if record is None:
            missing[step] = f"no environment published for spec {spec.spec_id[:12]} on {arch} in {store.url}"
            continue
        python = None
        if not remote:
            python = create(record, env_folder(cache_root, record.env_id), packages, uv_binary(),
                            default_locks(cache_root), config.get("CONDA_LOCK_TIMEOUT")).python
        echo(f"[mfci] {step}: environment {record.env_id[:12]} ({arch}) from {store.url}")
        placements[step] = Placement(record, python, bool(remote), store.url)
    return Launch(placements, missing)


def bootstrap_command(placement: Placement, prefix: str) -> str:
    """The shell line a remote task runs to build its environment from the store."""
    import shlex

    layout = Layout.from_config()
    record = placement.record
    arguments = [
        "--root", placement.root,
        "--record", layout.record(record.spec_id, record.arch, record.env_id),
        "--installers", layout.installers,
        "--packages", layout.packages,
        "--prefix", prefix,
    ]
    return "python -m mfci.bootstrap " + " ".join(shlex.quote(a) for a in arguments)
