"""The exact result of a resolution: the files an environment is made of.

An EnvRecord is immutable once published under envs/<spec_id>/<arch>/<env_id>.json.
Its env_id is a hash of the files alone — the channel's or index's own files, never a
local conversion of them — so the same resolution gives the same id on any machine.
Records come from stores other people write: `from_json` refuses any shape it does not
expect. This module is stdlib-only: remote workers import it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace

from .arch import ALL_ARCHS
from .urls import safe_relative_path

RECORD_FORMAT = 3          # 2: packages may carry a `converted` archive; 3: a "python" package (the interpreter)
READABLE_FORMATS = (1, 2, 3)
# "python": a relocatable CPython build, the interpreter of a PyPI environment (format 3 on).
KINDS = ("pypi", "conda", "python")
SHA256 = re.compile(r"[0-9a-f]{64}")
ENV_ID = re.compile(r"[0-9a-f]{32}")


def check_format(data: dict, readable: tuple[int, ...], what: str) -> None:
    """Refuse an object written by a newer mfci in a format this one cannot read."""
    if not isinstance(data, dict):
        raise ValueError(f"a {what} is a JSON object, not {type(data).__name__}")
    version = data.get("format", 1)
    if version not in readable:
        raise ValueError(f"{what} format {version!r} is not one this mfci reads ({', '.join(map(str, readable))}); "
                         "upgrade mfci")


def _text(data: dict, name: str, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{name} must be a non-empty string")
    return value


@dataclass(frozen=True)
class Converted:
    """The same conda package in the other archive format, made by a warm (CONDA_PREFERRED_FORMAT)."""

    filename: str
    sha256: str
    size: int | None
    key: str


@dataclass(frozen=True)
class PackageFile:
    name: str
    version: str
    kind: str          # "pypi" (wheel), "conda" or "python" (an interpreter build)
    url: str           # where it came from, secrets removed
    filename: str
    sha256: str
    size: int | None
    key: str = ""      # where it lives in the store, relative to the packages folder
    md5: str | None = None  # conda channels give one; checked too when present
    converted: Converted | None = None

    def __post_init__(self):
        # Records come from stores and indexes: nothing in them may point outside a folder.
        if self.kind not in KINDS:
            raise ValueError(f"{self.filename!r}: unknown package kind {self.kind!r} (known: {', '.join(KINDS)})")
        files = [(self.filename, self.sha256, self.key)]
        if self.converted:
            files.append((self.converted.filename, self.converted.sha256, self.converted.key))
        for filename, sha256, key in files:
            if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
                raise ValueError(f"{filename!r}: sha256 {sha256!r} is not a sha256")
            if not isinstance(filename, str) or "/" in filename or safe_relative_path(filename) != filename:
                raise ValueError(f"unsafe file name {filename!r}")
            if key:
                safe_relative_path(key)
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise ValueError(f"{self.filename!r}: size {self.size!r} is not a size")

    def installed(self) -> "PackageFile":
        """The file an environment installs: the converted archive when there is one."""
        if self.converted is None:
            return self
        c = self.converted
        return replace(self, filename=c.filename, sha256=c.sha256, size=c.size, key=c.key, md5=None, converted=None)

    def to_json(self) -> dict:
        data = asdict(self)
        if self.converted is None:
            del data["converted"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "PackageFile":
        if not isinstance(data, dict):
            raise ValueError("a package is a JSON object")
        converted = data.get("converted")
        if converted is not None:
            if not isinstance(converted, dict):
                raise ValueError("converted must be an object")
            converted = Converted(_text(converted, "filename"), _text(converted, "sha256"), converted.get("size"),
                                  _text(converted, "key"))
        size = data.get("size")
        return cls(name=_text(data, "name"), version=_text(data, "version", required=False),
                   kind=_text(data, "kind"), url=_text(data, "url"), filename=_text(data, "filename"),
                   sha256=_text(data, "sha256"), size=size, key=_text(data, "key", required=False),
                   md5=data.get("md5") if isinstance(data.get("md5"), str) else None, converted=converted)


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
    note: str = ""          # why this arch's answer is not the one its other archs share

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
            **({"note": self.note} if self.note else {}),
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: dict) -> "EnvRecord":
        check_format(data, READABLE_FORMATS, "environment record")
        if data.get("arch") not in ALL_ARCHS:
            raise ValueError(f"arch {data.get('arch')!r} is not one of {', '.join(ALL_ARCHS)}")
        packages = data.get("packages")
        if not isinstance(packages, list):
            raise ValueError("packages must be a list")
        spec = data.get("spec", {})
        record = cls(
            spec_id=_text(data, "spec_id"),
            arch=data["arch"],
            python=_text(data, "python"),
            packages=tuple(PackageFile.from_json(package) for package in packages),
            spec=spec if isinstance(spec, dict) else {},
            resolver=_text(data, "resolver", required=False),
            resolved_by=_text(data, "resolved_by", required=False),
            resolved_at=_text(data, "resolved_at", required=False),
            note=_text(data, "note", required=False),
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
