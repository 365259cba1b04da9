"""The exact result of a resolution: the files an environment is made of.

An EnvRecord is immutable once published under envs/<spec_id>/<arch>/<env_id>.json.
Its env_id is a hash of the files alone, so the same resolution gives the same id on
any machine. This module is stdlib-only: remote workers import it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from .urls import safe_relative_path

RECORD_FORMAT = 1


@dataclass(frozen=True)
class PackageFile:
    name: str
    version: str
    kind: str          # "pypi" (wheel) or "conda"
    url: str           # where it came from, credentials removed
    filename: str
    sha256: str
    size: int | None
    key: str = ""      # where it lives in the store, relative to the packages folder
    md5: str | None = None  # conda channels give one; checked too when present

    def __post_init__(self):
        # Records come from stores and indexes: nothing in them may point outside a folder.
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"{self.filename!r}: sha256 {self.sha256!r} is not a sha256")
        if "/" in self.filename or safe_relative_path(self.filename) != self.filename:
            raise ValueError(f"unsafe file name {self.filename!r}")
        if self.key:
            safe_relative_path(self.key)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EnvRecord:
    spec_id: str
    arch: str
    python: str
    packages: tuple[PackageFile, ...]
    spec: dict = field(default_factory=dict)
    resolver: str = ""
    resolved_by: str = ""
    resolved_at: str = ""

    @property
    def env_id(self) -> str:
        return env_id_for(self.arch, self.python, self.packages)

    def to_json(self) -> dict:
        return {
            "format": RECORD_FORMAT,
            "spec_id": self.spec_id,
            "arch": self.arch,
            "env_id": self.env_id,
            "python": self.python,
            "packages": [package.to_json() for package in self.packages],
            "spec": self.spec,
            "resolver": self.resolver,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: dict) -> "EnvRecord":
        record = cls(
            spec_id=data["spec_id"],
            arch=data["arch"],
            python=data["python"],
            packages=tuple(PackageFile(**package) for package in data["packages"]),
            spec=data.get("spec", {}),
            resolver=data.get("resolver", ""),
            resolved_by=data.get("resolved_by", ""),
            resolved_at=data.get("resolved_at", ""),
        )
        if data.get("env_id") not in (None, record.env_id):
            raise ValueError(f"record {data.get('env_id')} does not match its own packages")
        return record

    @classmethod
    def from_bytes(cls, data: bytes) -> "EnvRecord":
        return cls.from_json(json.loads(data))


def env_id_for(arch: str, python: str, packages) -> str:
    lines = [arch, python] + sorted(f"{p.filename}#{p.sha256}" for p in packages)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]
