"""From what a step asks for to a canonical, machine-independent EnvSpec and its spec_id.

Nothing about the machine that computes a spec enters it: not its python, its glibc, its
platform or its index configuration. The same flow gives the same spec_id in CI and on
a laptop. A spec is for one arch only in what that arch's virtual packages (and, on
Linux, a GPU step's) are, so that changing `__osx` for osx-arm64 changes no other arch's
key; the arch itself is the second half of every key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .errors import WorkError
from .pythons import choose_pythons
from .secrets import scrub

SPEC_FORMAT = 2   # 2: the system packages of the spec's own arch only
VERSION_OPERATORS = ("<", ">", "=", "!", "~", "@")


@dataclass(frozen=True)
class StepRequirement:
    """One step's environment request, as Metaflow itself computed it."""

    file: str
    flow: str
    step: str
    pypi: dict[str, str] | None = None   # package -> version spec, Metaflow's pins included
    conda: dict[str, str] | None = None  # conda packages other than python
    python: str | None = None            # only when the user pinned it: a version or a range
    gpu: bool = False
    uses_environment: bool = True        # False: the step has no @pypi/@conda at all
    channels: tuple[str, ...] = ()       # an environment file's own channels
    remote_arch: str | None = None       # the arch of the compute a remote step runs on

    @classmethod
    def from_json(cls, file: str, flow: str, step: str, data: dict) -> "StepRequirement":
        return cls(
            file=file,
            flow=flow,
            step=step,
            pypi=data.get("pypi"),
            conda=data.get("conda") or None,
            python=data.get("python"),
            gpu=bool(data.get("gpu")),
            uses_environment=bool(data.get("uses_environment", True)),
            remote_arch=data.get("remote_arch"),
        )


@dataclass(frozen=True)
class SpecInputs:
    """The settings that enter every spec (read once per command from config)."""

    default_python: str
    system_packages: dict            # arch -> {virtual package: version}
    gpu_packages: dict
    pypi_index: str | None = None    # CONDA_DEFAULT_PYPI_SOURCE, scrubbed on use
    channels: tuple[str, ...] = ("conda-forge",)  # configured conda channels


@dataclass(frozen=True)
class EnvSpec:
    python: str                       # X.Y or X.Y.Z: the interpreter this spec is resolved for
    pypi: tuple[str, ...] = ()
    conda: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    system: dict = field(default_factory=dict, hash=False, compare=False)  # the arch's virtual packages
    spec_id: str = field(default="", compare=True)

    @property
    def kind(self) -> str:
        if self.conda and self.pypi:
            return "mixed"
        return "conda" if self.conda else "pypi"

    def canonical(self) -> dict:
        return {
            "format": SPEC_FORMAT,
            "python": self.python,
            "pypi": list(self.pypi),
            "conda": list(self.conda),
            "channels": list(self.channels),
            "indexes": list(self.indexes),
            "system": self.system,
        }


def _with_id(**fields) -> EnvSpec:
    draft = EnvSpec(**fields)
    text = json.dumps(draft.canonical(), sort_keys=True, separators=(",", ":"))
    return EnvSpec(**fields, spec_id=hashlib.sha256(text.encode()).hexdigest())


def canonical_python(value: str) -> str:
    """A pinned python as X.Y or X.Y.Z (`==3.11.*` and `3.11.*` are 3.11)."""
    text = str(value).strip().removeprefix("==").removesuffix(".*").strip()
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise WorkError(f"python {value!r} is not a version X.Y or X.Y.Z (such as 3.11 or 3.11.9)")
    return str(Version(text))


def pypi_requirement(name: str, value: str | None) -> str:
    """Metaflow's `packages={name: version}` entry as one canonical PEP 508 requirement."""
    version = str(value or "").strip()
    if version and not version.startswith(VERSION_OPERATORS):
        version = "==" + version
    try:
        requirement = Requirement(f"{name}{version}")
    except InvalidRequirement as error:
        raise WorkError(f"invalid requirement {name!r}: {version!r} ({str(error).splitlines()[0]})") from None
    text = canonicalize_name(requirement.name)
    if requirement.extras:
        text += "[" + ",".join(sorted(canonicalize_name(e) for e in requirement.extras)) + "]"
    if requirement.url:
        text += " @ " + scrub(requirement.url)
    else:
        text += ",".join(sorted(str(s) for s in requirement.specifier))
    if requirement.marker:
        text += f"; {requirement.marker}"
    return text


def conda_requirement(name: str, value: str | None) -> tuple[str, str | None]:
    """Metaflow's `packages={name: version}` conda entry as (match spec, channel or None).

    `channel::name` keeps its channel; a bare version means exactly that version, as in
    Metaflow's own micromamba call."""
    channel, _, package = name.rpartition("::")
    version = "".join(str(value or "").split()).removeprefix("==")
    if version and "*" in version and not version.startswith(VERSION_OPERATORS):
        version = " " + version  # a glob: conda's "name 1.26.*" (rattler refuses "==1.26.*")
    elif version and not version.startswith(VERSION_OPERATORS):
        version = "==" + version
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", package):
        raise WorkError(f"invalid conda package name {name!r}")
    channel = scrub(channel) if channel else None
    return f"{channel + '::' if channel else ''}{package.lower()}{version}", channel


def python_match_spec(python: str) -> str:
    """python X.Y means any X.Y.*; X.Y.Z exactly that."""
    return f"python {python}.*" if python.count(".") == 1 else f"python =={python}"


def step_pythons(requirement: StepRequirement, preferred: list[str]) -> list[str]:
    """The concrete pythons a step is warmed for (pythons.choose_pythons); WorkError naming
    the bad value for this step alone."""
    try:
        return choose_pythons(requirement.python, preferred)
    except ValueError as error:
        raise WorkError(str(error)) from None


def system_packages(inputs: SpecInputs, arch: str, gpu: bool) -> dict:
    """The virtual packages a spec for `arch` is resolved with: the arch's, plus the GPU
    ones for a GPU step on Linux (remote GPU compute is Linux)."""
    packages = dict(inputs.system_packages.get(arch, {}))
    if gpu and arch.startswith("linux"):
        packages.update(inputs.gpu_packages)
    return packages


def build_spec(requirement: StepRequirement, inputs: SpecInputs, arch: str, python: str | None = None) -> EnvSpec:
    """The spec of one step for one arch. `python`: the concrete python (one of
    step_pythons); unset, the step's own choice with the configured default."""
    chosen_python = python or step_pythons(requirement, [inputs.default_python])[0]
    pypi = sorted(
        pypi_requirement(name, version) for name, version in (requirement.pypi or {}).items()
    )
    conda_entries = [conda_requirement(n, v) for n, v in (requirement.conda or {}).items()]
    conda = sorted(spec for spec, _ in conda_entries)
    channels: tuple[str, ...] = ()
    if conda:
        named = sorted({channel for _, channel in conda_entries if channel})
        # An environment file's `nodefaults` drops the configured channels, as in conda.
        own = [c for c in requirement.channels if c != "nodefaults"]
        configured = own if "nodefaults" in requirement.channels else [*own, *inputs.channels]
        channels = tuple(dict.fromkeys([*named, *(scrub(c) for c in configured)]))
    system = system_packages(inputs, arch, requirement.gpu)
    return _with_id(
        python=canonical_python(chosen_python),
        pypi=tuple(pypi),
        conda=tuple(conda),
        channels=channels,
        indexes=(scrub(inputs.pypi_index),) if inputs.pypi_index and pypi else (),
        system=system,
    )

