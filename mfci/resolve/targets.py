"""What a conda arch means for PyPI: uv's --python-platform, wheel tags, deployment target."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from packaging import tags

from ..config import DEFAULT_SYS_PACKAGES
from ..errors import UsageError

# uv knows these manylinux targets only (tooling notes §7); none between 2_17 and 2_28.
UV_MANYLINUX = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
MACHINES = {"linux-64": "x86_64", "linux-aarch64": "aarch64", "osx-64": "x86_64", "osx-arm64": "arm64"}


@dataclass(frozen=True)
class PyPITarget:
    arch: str
    python: str                 # X.Y or X.Y.Z
    uv_platform: str            # uv pip compile --python-platform
    platform_tags: tuple[str, ...]  # wheel platform tags accepted, best first
    macos_target: str | None = None
    glibc: str | None = None        # linux: the oldest glibc the environment runs on

    @property
    def floor(self) -> str:
        """The oldest OS the environment must run on, as its virtual package sets it."""
        return f"macOS {self.macos_target}" if self.macos_target else f"glibc {self.glibc}"

    @property
    def python_tuple(self) -> tuple[int, int]:
        major, minor = self.python.split(".")[:2]
        return int(major), int(minor)

    def wheel_tags(self) -> list[tags.Tag]:
        version = self.python_tuple
        interpreter = f"cp{version[0]}{version[1]}"
        return list(tags.cpython_tags(version, platforms=self.platform_tags)) + list(
            tags.compatible_tags(version, interpreter, platforms=self.platform_tags)
        )


def _version_pair(text: str, what: str) -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in str(text).split("=")[0].split(".")[:2])
    except ValueError:
        raise UsageError(f"CONDA_SYS_DEFAULT_PACKAGES: {what} {text!r} is not a version") from None
    return major, minor


def pypi_target(arch: str, python: str, virtual: dict) -> PyPITarget:
    """The PyPI view of a conda arch, given the arch's virtual packages."""
    machine = MACHINES.get(arch)
    if machine is None:
        raise UsageError(f"unknown arch {arch!r} (known: {', '.join(MACHINES)})")
    defaults = DEFAULT_SYS_PACKAGES[arch]
    if arch.startswith("linux"):
        glibc = _version_pair(virtual.get("__glibc", defaults["__glibc"]), "__glibc")
        minors = [m for m in UV_MANYLINUX if m <= glibc[1]] if glibc[0] == 2 else []
        if not minors:
            raise UsageError(f"__glibc {glibc[0]}.{glibc[1]} for {arch} is older than manylinux 2.17")
        platform_tags = [f"manylinux_2_{m}_{machine}" for m in range(glibc[1], 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        ordered = []
        for tag in platform_tags:
            ordered.append(tag)
            minor = int(tag.split("_")[2])
            if minor in legacy:
                ordered.append(f"{legacy[minor]}_{machine}")
        return PyPITarget(arch, python, f"{'x86_64' if machine == 'x86_64' else 'aarch64'}-manylinux_2_{max(minors)}",
                          tuple(ordered), glibc=f"{glibc[0]}.{glibc[1]}")
    macos = _version_pair(virtual.get("__osx", defaults["__osx"]), "__osx")
    platform_tags = tuple(tags.mac_platforms(macos, machine))
    uv_machine = "x86_64" if machine == "x86_64" else "aarch64"
    return PyPITarget(arch, python, f"{uv_machine}-apple-darwin", platform_tags, f"{macos[0]}.{macos[1]}")


def best_wheel(target: PyPITarget, filenames: list[str], built_here: bool = False) -> str | None:
    """The most specific wheel for the target among several listed for one package. A wheel
    built on this machine (`built_here`) also fits this machine's own platform tags, for the
    target's python (a local build is tagged linux_x86_64, not manylinux)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from ..arch import current_arch

    ordered = target.wheel_tags()
    if built_here and target.arch == current_arch():
        ordered += PyPITarget(target.arch, target.python, target.uv_platform, tuple(current_platform_tags())).wheel_tags()
    rank = {tag: index for index, tag in enumerate(dict.fromkeys(ordered))}
    best, best_rank = None, len(rank)
    for name in filenames:
        try:
            wheel_tags = parse_wheel_filename(name)[3]
        except InvalidWheelFilename:
            continue
        score = min((rank.get(tag, len(rank)) for tag in wheel_tags), default=len(rank))
        if score < best_rank:
            best, best_rank = name, score
    return best


MACOS_WHEEL = re.compile(r"macosx_(\d+)_(\d+)_(\w+)")
LINUX_WHEEL = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)")
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# Wheel platform machines that run on each target machine.
MACOS_MACHINES = {"arm64": {"arm64", "universal2"}, "x86_64": {"x86_64", "universal2", "intel", "universal"}}


def _wheel_floor(platform: str, target: PyPITarget) -> tuple[int, int] | None:
    """The OS version a wheel's platform tag needs, when the tag is for the target's OS and
    machine (whatever its version); None for any other platform."""
    machine = MACHINES[target.arch]
    if target.macos_target:
        found = MACOS_WHEEL.fullmatch(platform)
        if found and found[3] in MACOS_MACHINES[machine]:
            return int(found[1]), int(found[2])
        return None
    found = LINUX_WHEEL.fullmatch(platform)
    if found and found[3] == machine:
        return int(found[1]), int(found[2])
    legacy, _, wheel_machine = platform.partition("_")
    return LEGACY_MANYLINUX.get(legacy) if wheel_machine == machine else None


def _family(platform: str) -> str:
    """A wheel platform tag as people say it: "macOS arm64", "Linux x86_64", "Windows"."""
    if platform.startswith("win"):
        return "Windows"
    for prefix, name in (("macosx_", "macOS"), ("manylinux", "Linux"), ("musllinux", "musl Linux"),
                         ("linux_", "Linux")):
        if platform.startswith(prefix):
            machine = next((m for m in ("x86_64", "aarch64", "arm64", "universal2", "i686", "ppc64le", "s390x")
                            if platform.endswith(m)), "")
            return f"{name} {machine}".strip()
    return platform


def no_wheel_fits(name: str, version: str, wheels: list[str], target: PyPITarget) -> tuple[bool, str]:
    """Why none of a version's wheels fits the target, as one line. First: True when wheels
    exist for the target's python, OS and machine but all need a newer OS than the target
    (building from source would not help: raise the target, or pin another version)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    pythons = {(tag.interpreter, tag.abi) for tag in target.wheel_tags()}
    floors, families, interpreters = [], set(), set()
    for wheel in wheels:
        try:
            wheel_tags = parse_wheel_filename(wheel)[3]
        except InvalidWheelFilename:
            continue
        for tag in wheel_tags:
            interpreters.add(tag.interpreter)
            families.add(_family(tag.platform))
            floor = _wheel_floor(tag.platform, target)
            if floor and (tag.interpreter, tag.abi) in pythons:
                floors.append(floor)
    machine = MACHINES[target.arch]
    if floors:
        floor = "{}.{}".format(*min(floors))
        virtual, kind = ("__osx", "wheels for macOS") if target.macos_target else ("__glibc", "Linux wheels for glibc")
        setting = json.dumps({target.arch: {virtual: floor}})
        return True, (f"{name} {version} has {machine} {kind} ≥ {floor} only; {target.arch} targets "
                      f"{target.floor}; set METAFLOW_CONDA_SYS_DEFAULT_PACKAGES='{setting}' to accept them")
    return False, (f"{name} {version} has no wheel for {target.arch} with python {target.python} (its wheels: "
                   f"{', '.join(sorted(interpreters))} for {', '.join(sorted(families))})")


def current_platform_tags() -> list[str]:
    """This machine's platform tags, most specific first."""
    from packaging.tags import platform_tags

    return list(platform_tags())


def current_arch_tags() -> list[str]:
    """This machine's platform tag, for messages about wheels built here."""
    return current_platform_tags()[:1]
