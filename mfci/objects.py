"""The small JSON objects of a store besides records — pointers, aliases, installer
pointers, manifests — each with the shape it must have, and the one typed read every
reader uses: a missing object is None, a malformed one is one line naming it.

Stdlib-only: the remote bootstrap reads installer pointers and records through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, TypeVar

from .arch import ALL_ARCHS
from .errors import WorkError
from .record import ENV_ID, SHA256, EnvRecord, PackageFile, check_format

OBJECT_FORMAT = 1
T = TypeVar("T")


def now() -> str:
    """A publication time: UTC, to the microsecond (ISO 8601)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def moment(text: str) -> datetime:
    """A stored time as a comparable instant; an absent or odd one sorts first."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class MalformedObject(WorkError):
    """A store object is not what its key says it is."""


def _dict(data, what: str) -> dict:
    check_format(data, (OBJECT_FORMAT,), what)
    return data


def _env_id(value) -> str:
    if not isinstance(value, str) or not ENV_ID.fullmatch(value):
        raise ValueError(f"env_id {value!r} is not an environment id")
    return value


@dataclass(frozen=True)
class Pointer:
    """envs/<spec>/<arch>/latest.json and users/<user>.json: which record is current."""

    env_id: str
    resolved_by: str = ""
    resolved_at: str = ""
    note: str = ""           # the record's: why its arch was resolved alone

    def newer_than(self, other: "Pointer | None") -> bool:
        """Whether this pointer may replace `other`: only a later resolution moves a pointer
        (an older warm that finishes last must not move it back)."""
        if other is None:
            return True
        return (moment(self.resolved_at), self.env_id) > (moment(other.resolved_at), other.env_id)

    def to_json(self) -> dict:
        return {"format": OBJECT_FORMAT, "env_id": self.env_id, "resolved_by": self.resolved_by,
                "resolved_at": self.resolved_at, **({"note": self.note} if self.note else {})}

    @classmethod
    def from_json(cls, data) -> "Pointer":
        data = _dict(data, "pointer")
        return cls(_env_id(data.get("env_id")), str(data.get("resolved_by") or ""), str(data.get("resolved_at") or ""),
                   str(data.get("note") or ""))


@dataclass(frozen=True)
class EnvRef:
    """One published environment: the record at envs/<spec_id>/<arch>/<env_id>.json."""

    spec_id: str
    env_id: str


ALIAS_FORMATS = (1, 2)   # 1: one spec_id for every arch; 2: a spec per arch


@dataclass(frozen=True)
class AliasTarget:
    """envs/aliases/<name>/<tag>.json: an environment per arch."""

    alias: str
    envs: dict            # arch -> EnvRef
    resolved_by: str = ""
    resolved_at: str = ""

    def to_json(self) -> dict:
        return {"format": 2, "alias": self.alias,
                "envs": {arch: {"spec_id": ref.spec_id, "env_id": ref.env_id} for arch, ref in sorted(self.envs.items())},
                "resolved_by": self.resolved_by, "resolved_at": self.resolved_at}

    @classmethod
    def from_json(cls, data) -> "AliasTarget":
        check_format(data, ALIAS_FORMATS, "alias")
        envs = data.get("envs")
        if not isinstance(envs, dict) or not envs:
            raise ValueError("envs must map at least one arch to an environment")
        refs = {}
        for arch, value in envs.items():
            if arch not in ALL_ARCHS:
                raise ValueError(f"arch {arch!r} is not one of {', '.join(ALL_ARCHS)}")
            spec_id, env_id = (data.get("spec_id"), value) if data.get("format", 1) == 1 else (
                (value.get("spec_id"), value.get("env_id")) if isinstance(value, dict) else (None, None))
            if not isinstance(spec_id, str) or not SHA256.fullmatch(spec_id):
                raise ValueError(f"spec_id {spec_id!r} is not a spec id")
            refs[arch] = EnvRef(spec_id, _env_id(env_id))
        return cls(str(data.get("alias") or ""), refs, str(data.get("resolved_by") or ""),
                   str(data.get("resolved_at") or ""))


@dataclass(frozen=True)
class InstallerPointer:
    """<installers>/<tool>-<arch>.json: the wheel of a tool remote bootstraps install with."""

    version: str
    package: PackageFile

    def to_json(self) -> dict:
        return {"format": OBJECT_FORMAT, "version": self.version, "package": self.package.to_json()}

    @classmethod
    def from_json(cls, data) -> "InstallerPointer":
        data = _dict(data, "installer pointer")
        if not isinstance(data.get("version"), str):
            raise ValueError("version must be a string")
        return cls(data["version"], PackageFile.from_json(data.get("package")))


@dataclass(frozen=True)
class BuiltWheel:
    """<packages>/builds/<sdist sha256>/<python>-<platform>.json: the wheel built on a
    machine of that platform from a source distribution, for that python."""

    sdist_sha256: str
    python: str
    platform: str
    package: PackageFile

    def to_json(self) -> dict:
        return {"format": OBJECT_FORMAT, "sdist_sha256": self.sdist_sha256, "python": self.python,
                "platform": self.platform, "package": self.package.to_json()}

    @classmethod
    def from_json(cls, data) -> "BuiltWheel":
        data = _dict(data, "built wheel")
        if not isinstance(data.get("sdist_sha256"), str) or not SHA256.fullmatch(data["sdist_sha256"]):
            raise ValueError("sdist_sha256 must be a sha256")
        for name in ("python", "platform"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ValueError(f"{name} must be a non-empty string")
        package = PackageFile.from_json(data.get("package"))
        if not package.filename.endswith(".whl"):
            raise ValueError(f"{package.filename!r} is not a wheel")
        return cls(data["sdist_sha256"], data["python"], data["platform"], package)


@dataclass(frozen=True)
class Manifest:
    """manifests/<repository>.json (and shard parts): what warms of a repository covered."""

    repository: str
    ref: str
    entries: dict          # "file::step::arch::python" -> entry
    updated_at: str = ""
    shard: str | None = None

    def to_json(self) -> dict:
        data = {"format": OBJECT_FORMAT, "repository": self.repository, "ref": self.ref,
                "updated_at": self.updated_at, "entries": self.entries}
        if self.shard:
            data["shard"] = self.shard
        return data

    @classmethod
    def from_json(cls, data) -> "Manifest":
        data = _dict(data, "manifest")
        entries = data.get("entries")
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            raise ValueError("entries must map names to objects")
        return cls(str(data.get("repository") or ""), str(data.get("ref") or ""), entries,
                   str(data.get("updated_at") or ""), data.get("shard"))


def parse_object(data: bytes, parse: Callable[[object], T]) -> T:
    """Bytes of a store object as its shape; ValueError (with the reason) otherwise."""
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error.__class__.__name__}: {str(error)[:80]})") from None
    try:
        return parse(value)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"unexpected shape ({error.__class__.__name__}: {error})") from None


def read_object(store, key: str, parse: Callable[[object], T]) -> T | None:
    """The object at `key` as its shape (Pointer.from_json, EnvRecord.from_json, …), or None
    when there is none; MalformedObject naming it when it has another shape."""
    from .store.base import ObjectMissing

    try:
        data = store.read(key)
    except ObjectMissing:
        return None
    try:
        return parse_object(data, parse)
    except ValueError as error:
        raise MalformedObject(f"{store.url}/{key} is not a valid {_what(parse)} ({error}); "
                              "run `mfci verify`") from None


def _what(parse) -> str:
    owner = getattr(parse, "__self__", None)
    return {Pointer: "pointer", AliasTarget: "alias", InstallerPointer: "installer pointer", Manifest: "manifest",
            EnvRecord: "environment record", BuiltWheel: "built wheel"}.get(owner, "object")
