"""`mfci verify`: every invariant a reader relies on, checked over a whole store.

Records reference packages that exist and whose bytes match their sha256; pointers,
aliases, installers and manifests reference records (or packages) that exist. This is
maintenance, so it may list the store; nothing on the lookup path does.
"""

from __future__ import annotations

import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .cache import digests_of
from .layout import Layout
from .record import EnvRecord, PackageFile
from .store import ObjectMissing, Store

RECORD = re.compile(r"(?P<spec>[0-9a-f]{64})/(?P<arch>[^/]+)/(?P<env>[0-9a-f]{32})\.json")
POINTER = re.compile(r"(?P<spec>[0-9a-f]{64})/(?P<arch>[^/]+)/(latest|users/[^/]+)\.json")


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    records: int = 0
    packages: int = 0
    pointers: int = 0

    def to_json(self) -> dict:
        return {"violations": self.violations, "records": self.records, "packages": self.packages,
                "pointers": self.pointers}


def _json(store: Store, key: str, report: Report) -> dict | None:
    try:
        return json.loads(store.read(key))
    except ObjectMissing:
        return None
    except ValueError:
        report.violations.append(f"{key}: not valid JSON (a partial write?)")
        return None


def verify(store: Store, layout: Layout, check_bytes: bool = True, jobs: int = 8) -> Report:
    report = Report()
    keys = set(store.list(""))
    packages: dict[str, PackageFile] = {}
    records: set[tuple[str, str, str]] = set()
    envs_prefix = layout.envs + "/"
    for key in sorted(k for k in keys if k.startswith(envs_prefix)):
        relative = key[len(envs_prefix):]
        if match := RECORD.fullmatch(relative):
            data = _json(store, key, report)
            try:
                record = EnvRecord.from_json(data) if data is not None else None
            except (KeyError, TypeError, ValueError) as error:
                report.violations.append(f"{key}: not a valid environment record ({error})")
                continue
            if record is None:
                continue
            report.records += 1
            if record.env_id != match["env"]:
                report.violations.append(f"{key}: holds environment {record.env_id}, not {match['env']}")
            records.add((match["spec"], match["arch"], match["env"]))
            for package in record.packages:
                packages[layout.package(package.key)] = package
    for key in sorted(packages):
        if key not in keys:
            report.violations.append(f"{key}: missing, but an environment record lists it")
    for key in sorted(k for k in keys if k.startswith(envs_prefix)):
        relative = key[len(envs_prefix):]
        if match := POINTER.fullmatch(relative):
            report.pointers += 1
            pointer = _json(store, key, report)
            if pointer and (match["spec"], match["arch"], pointer.get("env_id")) not in records:
                report.violations.append(f"{key}: points to environment {pointer.get('env_id')}, which has no record")
        elif relative.startswith("aliases/"):
            alias = _json(store, key, report) or {}
            for arch, env_id in alias.get("envs", {}).items():
                if (alias.get("spec_id"), arch, env_id) not in records:
                    report.violations.append(f"{key}: names environment {env_id} ({arch}), which has no record")
    for key in sorted(k for k in keys if k.startswith(layout.installers + "/")):
        installer = _json(store, key, report) or {}
        if "package" in installer:
            package = PackageFile(**installer["package"])
            packages[layout.package(package.key)] = package
            if layout.package(package.key) not in keys:
                report.violations.append(f"{key}: its wheel {package.filename} is missing")
    for key in sorted(k for k in keys if k.startswith(layout.manifests + "/")):
        manifest = _json(store, key, report) or {}
        for name, entry in sorted(manifest.get("entries", {}).items()):
            if (entry.get("spec_id"), entry.get("arch"), entry.get("env_id")) not in records:
                report.violations.append(f"{key}: entry {name} names environment {entry.get('env_id')}, which has no record")
    if check_bytes:
        present = [(key, package) for key, package in sorted(packages.items()) if key in keys]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for problem in pool.map(lambda item: _check_bytes(store, *item), present):
                if problem:
                    report.violations.append(problem)
    report.packages = len(packages)
    return report


def _check_bytes(store: Store, key: str, package: PackageFile) -> str | None:
    with tempfile.TemporaryDirectory(prefix="mfci-verify-") as scratch:
        path = Path(scratch, package.filename)
        try:
            store.download(key, path)
        except ObjectMissing:
            return None  # reported above
        sha256, _ = digests_of(path)
    if sha256 != package.sha256:
        return f"{key}: sha256 {sha256[:16]}… does not match the recorded {package.sha256[:16]}… (corrupted or truncated)"
    return None
