"""`mfci verify`: every invariant a reader relies on, checked over a whole store.

Records reference packages that exist and whose bytes match their sha256; pointers,
aliases, installers, built wheels and manifests are well-formed and reference records (or
packages) that exist. This is maintenance, so it may list the store; nothing on the lookup path does.
Objects mfci does not write — the seed's environments, aliases and package folders, in a
root both tools share — are recognised by their keys and left alone (counted as ignored).
"""

from __future__ import annotations

import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from .errors import WorkError
from .io.files import digests_of
from .layout import Layout
from .objects import (
    AliasTarget,
    BuiltWheel,
    InstallerPointer,
    Manifest,
    Pointer,
    parse_object,
)
from .record import EnvRecord, PackageFile
from .store import ObjectMissing, Store

RECORD = re.compile(r"(?P<spec>[0-9a-f]{64})/(?P<arch>[^/]+)/(?P<env>[0-9a-f]{32})\.json")
POINTER = re.compile(r"(?P<spec>[0-9a-f]{64})/(?P<arch>[^/]+)/(latest|users/[^/]+)\.json")
ALIAS = re.compile(r"aliases/.+/[^/]+\.json")
INSTALLER = re.compile(r"[a-z0-9\-]+-(linux|osx)-[a-z0-9_]+\.json")
T = TypeVar("T")


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    records: int = 0
    packages: int = 0
    pointers: int = 0
    ignored: int = 0      # objects under mfci's folders that mfci does not write (the seed's)

    def to_json(self) -> dict:
        return {"violations": self.violations, "records": self.records, "packages": self.packages,
                "pointers": self.pointers, "ignored": self.ignored}


def _read(store: Store, key: str, parse: Callable[[object], T], what: str, report: Report) -> T | None:
    """The object as its shape, or None with a violation saying why it is not one."""
    try:
        return parse_object(store.read(key), parse)
    except ObjectMissing:
        return None
    except ValueError as error:
        report.violations.append(f"{key}: not a valid {what} ({error})")
    except WorkError as error:
        report.violations.append(f"{key}: {error}")
    return None


def verify(store: Store, layout: Layout, check_bytes: bool = True, jobs: int = 8) -> Report:
    report = Report()
    keys = set(store.list(""))
    packages: dict[str, PackageFile] = {}
    records: set[tuple[str, str, str]] = set()
    envs_prefix = layout.envs + "/"

    def expect_package(package: PackageFile, owner: str) -> None:
        for listed in (package, *([package.installed()] if package.converted else [])):
            key = layout.package(listed.key)
            seen = key in packages
            packages[key] = listed
            if key not in keys and not seen:
                report.violations.append(f"{key}: missing, but {owner} lists it")

    envs = sorted(k for k in keys if k.startswith(envs_prefix))
    installers = sorted(k for k in keys if k.startswith(layout.installers + "/"))
    ours = {k for k in envs if any(p.fullmatch(k[len(envs_prefix):]) for p in (RECORD, POINTER, ALIAS))}
    ours |= {k for k in installers if INSTALLER.fullmatch(k[len(layout.installers) + 1:])}
    report.ignored = len(envs) + len(installers) - len(ours)
    for key in sorted(k for k in ours if k.startswith(envs_prefix)):
        relative = key[len(envs_prefix):]
        if match := RECORD.fullmatch(relative):
            record = _read(store, key, EnvRecord.from_json, "environment record", report)
            if record is None:
                continue
            report.records += 1
            if record.env_id != match["env"]:
                report.violations.append(f"{key}: holds environment {record.env_id}, not {match['env']}")
            records.add((match["spec"], match["arch"], match["env"]))
            for package in record.packages:
                expect_package(package, f"environment record {key}")
    for key in sorted(k for k in ours if k.startswith(envs_prefix)):
        relative = key[len(envs_prefix):]
        if ALIAS.fullmatch(relative):
            alias = _read(store, key, AliasTarget.from_json, "alias", report)
            for arch, ref in (alias.envs.items() if alias else ()):
                if (ref.spec_id, arch, ref.env_id) not in records:
                    report.violations.append(f"{key}: names environment {ref.env_id} ({arch}), which has no record")
        elif match := POINTER.fullmatch(relative):
            report.pointers += 1
            pointer = _read(store, key, Pointer.from_json, "pointer", report)
            if pointer and (match["spec"], match["arch"], pointer.env_id) not in records:
                report.violations.append(f"{key}: points to environment {pointer.env_id}, which has no record")
    for key in sorted(k for k in ours if k.startswith(layout.installers + "/")):
        installer = _read(store, key, InstallerPointer.from_json, "installer pointer", report)
        if installer:
            expect_package(installer.package, f"installer pointer {key}")
    for key in sorted(k for k in keys if k.startswith(layout.builds + "/")):
        built = _read(store, key, BuiltWheel.from_json, "built wheel", report)
        if built:
            expect_package(built.package, f"built wheel {key}")
    for key in sorted(k for k in keys if k.startswith(layout.manifests + "/")):
        manifest = _read(store, key, Manifest.from_json, "manifest", report)
        for name, entry in sorted(manifest.entries.items()) if manifest else ():
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
        path = Path(scratch, "package")
        try:
            store.download(key, path)
        except ObjectMissing:
            return None  # reported above
        except WorkError as error:
            return f"{key}: {error}"
        sha256, _ = digests_of(path)
    if sha256 != package.sha256:
        return f"{key}: sha256 {sha256[:16]}… does not match the recorded {package.sha256[:16]}… (corrupted or truncated)"
    return None
