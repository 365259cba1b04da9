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
from dataclasses import dataclass, field, replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .errors import WorkError
from .pythons import choose_pythons
from .secrets import scrub
from .uvlock import UvProject, read_lock

SPEC_FORMAT = 3   # 2: the system packages of the spec's own arch only; 3: a PyPI spec resolves to its interpreter too
VERSION_OPERATORS = ("<", ">", "=", "!", "~", "@", ";")
# Virtual packages a step (@sys_packages) or an environment file (the seed's `sys:` and
# `--sys-pkg`) may ask for, and the archs each one means something on.
USER_SYSTEM_PACKAGES = {"__glibc": "linux", "__cuda": "linux", "__linux": "linux", "__osx": "osx"}
RESOLVER_OPTIONS = ("pre",)   # @pypi(extras=...): pre-releases allowed


@dataclass(frozen=True)
class PypiOptions:
    """An environment file's own PyPI options: pip's requirement-file options
    (`-i`, `--extra-index-url`, `-f`, `--pre`, `--no-index`, `--trusted-host`, `-c`,
    `--hash`), the seed's `pypi-indices:`, a pyproject's `[tool.uv]` indexes and sources.

    A StepRequirement holds them as written (credentials included: they are what
    resolution and downloads use); an EnvSpec holds them scrubbed (what ids hold)."""

    index_url: str | None = None                    # replaces the configured default index
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    named_indexes: tuple[tuple[str, str], ...] = ()  # (name, url): indexes only `sources` use
    sources: tuple[tuple[str, str], ...] = ()        # (package, index name): [tool.uv.sources]
    constraints: tuple[str, ...] = ()                # PEP 508 lines (`-c` files)
    hashes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (package, ("sha256:…", …)): `--hash`
    pre: bool = False
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every index and find-links URL, as written."""
        named = tuple(url for _, url in self.named_indexes)
        return tuple(u for u in (self.index_url, *self.extra_index_urls, *self.find_links, *named) if u)

    def with_urls(self, change) -> "PypiOptions":
        """The same options with every URL passed through `change` (scrub: what ids hold;
        Credentials.configured: what resolution uses)."""
        return replace(self, index_url=change(self.index_url) if self.index_url else None,
                       extra_index_urls=tuple(map(change, self.extra_index_urls)),
                       find_links=tuple(map(change, self.find_links)),
                       named_indexes=tuple((name, change(url)) for name, url in self.named_indexes))

    def scrubbed(self) -> "PypiOptions":
        return self.with_urls(scrub)

    def canonical(self) -> dict:
        """The options that change a resolution, scrubbed; empty ones left out."""
        public = self.scrubbed()
        data = {
            "index_url": public.index_url,
            "extra_index_urls": list(public.extra_index_urls),
            "find_links": list(public.find_links),
            "named_indexes": sorted(map(list, public.named_indexes)),
            "sources": sorted(map(list, public.sources)),
            "constraints": sorted(public.constraints),
            "hashes": sorted([name, sorted(values)] for name, values in public.hashes),
            "pre": public.pre,
            "no_index": public.no_index,
            "trusted_hosts": sorted(public.trusted_hosts),
        }
        return {key: value for key, value in data.items() if value}


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
    channels: tuple[str, ...] = ()       # the step's (@conda channels) or an environment file's own channels
    system: dict | None = None           # virtual packages the step (@sys_packages) or file (`sys:`) sets
    pypi_options: PypiOptions = PypiOptions()  # the step's (@pypi extra_indices, extras) or file's own
    named: dict | None = None            # a published environment the step uses instead (@named_env)
    uv_project: UvProject | None = None  # --environment=uv: the project's pyproject.toml and uv.lock

    @property
    def source_urls(self) -> tuple[str, ...]:
        """The indexes and channels this request names itself, as written (credentials
        included): resolution and downloads authenticate with them."""
        named = [name.rpartition("::")[0] for name in (self.conda or {}) if "::" in name]
        return tuple(dict.fromkeys(u for u in (*self.pypi_options.urls, *self.channels, *named) if "://" in u))
    remote_arch: str | None = None       # the arch of the compute a remote step runs on

    @classmethod
    def from_json(cls, file: str, flow: str, step: str, data: dict) -> "StepRequirement":
        """A step's request as the extension reports it (`mfci dump`, or at launch); the
        seed's @pypi extra_indices and extras=["pre"] become PyPI options."""
        return cls(
            file=file,
            flow=flow,
            step=step,
            pypi=data.get("pypi"),
            conda=data.get("conda") or None,
            python=data.get("python"),
            gpu=bool(data.get("gpu")),
            uses_environment=bool(data.get("uses_environment", True)),
            channels=tuple(data.get("channels") or ()),
            system=data.get("system") or None,
            named=data.get("named") or None,
            pypi_options=PypiOptions(extra_index_urls=tuple(data.get("indexes") or ()),
                                     pre="pre" in (data.get("options") or ())),
            remote_arch=data.get("remote_arch"),
            uv_project=UvProject.from_json(data.get("uv_project")),
        )


@dataclass(frozen=True)
class SpecInputs:
    """The settings that enter every spec (read once per command from config)."""

    default_python: str
    system_packages: dict            # arch -> {virtual package: version}
    gpu_packages: dict
    pypi_index: str | None = None    # CONDA_DEFAULT_PYPI_SOURCE, scrubbed on use
    channels: tuple[str, ...] = ("conda-forge",)  # configured conda channels


# The virtual packages every arch has a value of its own for.
ARCH_VIRTUAL_PACKAGES = ("__glibc", "__osx", "__unix", "__linux", "__archspec")


@dataclass(frozen=True)
class EnvSpec:
    python: str                       # X.Y or X.Y.Z: the interpreter this spec is resolved for
    pypi: tuple[str, ...] = ()
    conda: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    system: dict = field(default_factory=dict, hash=False, compare=False)  # the arch's virtual packages
    pypi_options: PypiOptions = field(default=PypiOptions(), hash=False, compare=False)  # scrubbed
    lock_digest: str = ""             # a uv project's: its lock's content (uvlock.UvLock.digest)
    uv_lock: str = field(default="", hash=False, compare=False)  # where that lock is on this machine
    spec_id: str = field(default="", compare=True)

    @property
    def kind(self) -> str:
        if self.lock_digest:
            return "uv"
        if self.conda and self.pypi:
            return "mixed"
        return "conda" if self.conda else "pypi"

    @property
    def family_id(self) -> str:
        """What the specs of one environment share across archs (all but the virtual
        packages that come with the arch: a GPU step's __cuda stays): the specs one
        universal resolution can answer together."""
        system = {k: v for k, v in self.system.items() if k not in ARCH_VIRTUAL_PACKAGES}
        shared = {**self.canonical(), "system": system}
        return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()

    def canonical(self) -> dict:
        return {
            "format": SPEC_FORMAT,
            "python": self.python,
            "pypi": list(self.pypi),
            "conda": list(self.conda),
            "channels": list(self.channels),
            "indexes": list(self.indexes),
            "system": self.system,
            # Only when a file gave some: every id made before these existed stays the same.
            **({"pypi_options": self.pypi_options.canonical()} if self.pypi_options.canonical() else {}),
            **({"uv_lock": self.lock_digest} if self.lock_digest else {}),
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
    return canonical_requirement(requirement)


def canonical_requirement(requirement: Requirement) -> str:
    """A parsed PEP 508 requirement in mfci's one spelling (names PEP 503, sorted extras
    and specifiers, URLs without secrets)."""
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
    version, build = _version_and_build(str(value or ""))
    version = "".join(version.split()).removeprefix("==")
    if version and "*" in version and not version.startswith(VERSION_OPERATORS):
        version = " " + version  # a glob: conda's "name 1.26.*" (rattler refuses "==1.26.*")
    elif version and not version.startswith(VERSION_OPERATORS):
        version = "==" + version
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", package):
        raise WorkError(f"invalid conda package name {name!r}")
    channel = scrub(channel) if channel else None
    if build:  # conda's "name version build": an exact build, as `conda env export` writes
        version = (version or " *") + f" {build}"
    return f"{channel + '::' if channel else ''}{package.lower()}{version}", channel


def _version_and_build(value: str) -> tuple[str, str]:
    """`1.26.4 py311h64a7726_0` → (`1.26.4`, `py311h64a7726_0`); a value whose last word
    is part of its version (`>= 1.0`, `>=1,<2`) has no build."""
    words = value.split()
    if len(words) >= 2 and not words[-1].startswith(("<", ">", "=", "!", "~", ",", "|")) \
            and not words[-2].endswith(("<", ">", "=", "!", "~", ",", "|")):
        return " ".join(words[:-1]), words[-1]
    return value, ""


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


def system_packages(inputs: SpecInputs, arch: str, gpu: bool, own: dict | None = None) -> dict:
    """The virtual packages a spec for `arch` is resolved with: the arch's, plus the GPU
    ones for a GPU step on Linux (remote GPU compute is Linux), then those the step or its
    environment file sets (@sys_packages, `sys:`), which win where they mean something on
    the arch (`__glibc` and `__cuda` on Linux, `__osx` on macOS), as in the seed."""
    packages = dict(inputs.system_packages.get(arch, {}))
    if gpu and arch.startswith("linux"):
        packages.update(inputs.gpu_packages)
    for name, version in (own or {}).items():
        if name not in USER_SYSTEM_PACKAGES or not re.fullmatch(r"\d+(\.\d+)*(=\w+)?", str(version).strip()):
            raise WorkError(f"system package {name}={version!r}: expected one of {', '.join(USER_SYSTEM_PACKAGES)} "
                            "and a version such as 12.1")
        if arch.startswith(USER_SYSTEM_PACKAGES[name]):
            packages[name] = str(version).strip()
    return packages


def build_spec(requirement: StepRequirement, inputs: SpecInputs, arch: str, python: str | None = None) -> EnvSpec:
    """The spec of one step for one arch. `python`: the concrete python (one of
    step_pythons); unset, the step's own choice with the configured default."""
    if requirement.uv_project:
        return _uv_spec(requirement, inputs, arch, python)
    chosen_python = python or step_pythons(requirement, [inputs.default_python])[0]
    pypi = _pypi_requirements(requirement)
    conda_entries = [conda_requirement(n, v) for n, v in (requirement.conda or {}).items()]
    conda = sorted(spec for spec, _ in conda_entries)
    channels: tuple[str, ...] = ()
    if conda:
        named = sorted({channel for _, channel in conda_entries if channel})
        # An environment file's `nodefaults` drops the configured channels, as in conda.
        own = [c for c in requirement.channels if c != "nodefaults"]
        configured = own if "nodefaults" in requirement.channels else [*own, *inputs.channels]
        channels = tuple(dict.fromkeys([*named, *(scrub(c) for c in configured)]))
    system = system_packages(inputs, arch, requirement.gpu, requirement.system)
    return _with_id(
        python=canonical_python(chosen_python),
        pypi=tuple(pypi),
        conda=tuple(conda),
        channels=channels,
        indexes=(scrub(inputs.pypi_index),) if inputs.pypi_index and pypi else (),
        system=system,
        pypi_options=requirement.pypi_options.scrubbed() if pypi else PypiOptions(),
    )



def _pypi_requirements(requirement: StepRequirement) -> list[str]:
    return sorted(pypi_requirement(name, version) for name, version in (requirement.pypi or {}).items())


def _uv_spec(requirement: StepRequirement, inputs: SpecInputs, arch: str, python: str | None) -> EnvSpec:
    """A uv project's step: its lock (by content), the python (the request carries the
    project's, uvlock.project_python), the arch's virtual packages and the packages Metaflow
    adds for the datastore; nothing else of the step counts."""
    lock = read_lock(requirement.uv_project.lock)
    chosen_python = python or step_pythons(requirement, [inputs.default_python])[0]
    return _with_id(python=canonical_python(chosen_python),
                    pypi=tuple(_pypi_requirements(requirement)),
                    system=system_packages(inputs, arch, requirement.gpu), lock_digest=lock.digest, uv_lock=lock.path)
