"""`mfci warm`: discover → spec → plan → resolve → cache → publish, for every arch.

Distinct (spec_id, arch) pairs are resolved once and in parallel; a pair already
published is a hit that costs one small read. A failure fails its own rows only.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import config
from .cache import LocalPackages, PackageCache
from .discover import discover
from .errors import WorkError
from .layout import Layout
from .plan import Plan, make_plan
from .publish import merge_manifest, now, publish_record, update_json
from .record import EnvRecord
from .resolve import resolver_for
from .spec import EnvSpec, StepRequirement, build_spec, spec_inputs
from .store import Store


class Progress(Protocol):
    def total(self, count: int, what: str) -> None: ...
    def advance(self, line: str) -> None: ...


@dataclass
class WarmOptions:
    paths: list[str]
    archs: list[str]
    pythons: list[str]
    jobs: int


def _hit(store: Store, layout: Layout, spec_id: str, arch: str) -> dict | None:
    current = store.read_versioned(layout.latest(spec_id, arch))
    return json.loads(current.data) if current else None


class Warmer:
    def __init__(self, store: Store, progress: Progress):
        self.store = store
        self.layout = Layout.from_config()
        self.progress = progress
        self.user = config.username()
        self.cache = PackageCache(store, self.layout, LocalPackages(config.cache_dir() / "pkgs"),
                                  config.get("CONDA_DEFAULT_PYPI_SOURCE"))
        self._lock = threading.Lock()

    def resolve_and_publish(self, spec: EnvSpec, arch: str, jobs: int) -> EnvRecord:
        resolver = resolver_for(spec)
        files = resolver.resolve(spec, arch)
        self.cache.store_all(files, jobs)
        record = EnvRecord(spec.spec_id, arch, spec.python, tuple(files), spec.canonical(),
                           resolver=resolver.name, resolved_by=self.user, resolved_at=now())
        publish_record(self.store, self.layout, record)
        return record

    def warm(self, options: WarmOptions) -> Plan:
        reports = discover(options.paths, options.jobs, config.get("CONDA_MFCI_DISCOVERY_TIMEOUT"))
        plan = make_plan(reports, options.archs, options.pythons, spec_inputs())
        work = dict(plan.specs)
        self.progress.total(len(work), "environments")

        def one(key: tuple[str, str]) -> None:
            spec, (spec_id, arch) = work[key], key
            rows = plan.rows_for(spec_id, arch)
            try:
                pointer = _hit(self.store, self.layout, spec_id, arch)
                if pointer:
                    status, env_id, who, when = "hit", pointer["env_id"], pointer.get("resolved_by"), pointer.get("resolved_at")
                else:
                    record = self.resolve_and_publish(spec, arch, options.jobs)
                    status, env_id, who, when = "resolved", record.env_id, record.resolved_by, record.resolved_at
                for row in rows:
                    row.status, row.env_id, row.resolved_by, row.resolved_at = status, env_id, who, when
                self.progress.advance(f"{status:8} {arch:13} {spec_id[:12]} {_names(rows)}")
            except WorkError as error:  # a UsageError (no bucket, bad credentials) fails every row alike
                with self._lock:
                    for row in rows:
                        row.status, row.message = "failed", str(error)
                        plan.errors.append({"file": row.requirement.file, "step": row.requirement.step,
                                            "message": f"{arch}: {error}"})
                self.progress.advance(f"failed   {arch:13} {spec_id[:12]} {_names(rows)}")

        # Resolutions run `jobs` at a time; each also downloads in parallel.
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            list(pool.map(one, sorted(work)))
        self.publish_installers(options.archs, plan)
        self.publish_manifest(plan, options.paths)
        plan.errors.sort(key=lambda e: (e["file"], e["step"] or "", e["message"]))
        return plan

    def publish_installers(self, archs: list[str], plan: Plan) -> None:
        """uv for each target arch, under the remote-installer folder, for remote bootstraps."""
        from .resolve.pypi_uv import uv_version

        version = uv_version()
        requirement = StepRequirement("(remote installer)", "", "", pypi={"uv": version})
        spec = build_spec(requirement, spec_inputs())
        for arch in archs:
            key = self.layout.installer(arch)
            current = _hit_installer(self.store, key)
            if current == version:
                continue
            try:
                files = resolver_for(spec).resolve(spec, arch)
                self.cache.store_all(files, 2)
                update_json(self.store, key, lambda _old: {"version": version, "package": files[0].to_json()})
            except WorkError as error:
                plan.errors.append({"file": "(remote installer)", "step": None,
                                    "message": f"uv {version} for {arch}: {error}"})

    def publish_manifest(self, plan: Plan, paths: list[str]) -> None:
        repository, ref, top = repository_identity(Path(paths[0]) if paths else Path("."))
        entries = [
            {**row.to_json(), "file": os.path.relpath(os.path.abspath(row.requirement.file), top),
             "resolved_by": row.resolved_by, "resolved_at": row.resolved_at}
            for row in plan.rows if row.status in ("resolved", "hit")
        ]
        if entries:
            merge_manifest(self.store, self.layout, repository, ref, entries)


def _hit_installer(store: Store, key: str) -> str | None:
    current = store.read_versioned(key)
    return json.loads(current.data).get("version") if current else None


def _names(rows) -> str:
    names = sorted({f"{r.requirement.flow}.{r.requirement.step}" for r in rows})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def repository_identity(path: Path) -> tuple[str, str, str]:
    """(name, ref, top folder) of the repository holding path: GitHub's, else git's, else the folder's."""
    name = os.environ.get("GITHUB_REPOSITORY", "").replace("/", "-")
    ref = os.environ.get("GITHUB_SHA", "")
    folder = path if path.is_dir() else path.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""
    top = git("rev-parse", "--show-toplevel") or os.getcwd()
    name = name or Path(top).name
    return name or "default", ref or git("rev-parse", "HEAD") or "unknown", top
