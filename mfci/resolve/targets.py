"""What a conda arch means for PyPI: uv's --python-platform, wheel tags, deployment target."""

from __future__ import annotations

from dataclasses import dataclass

from packaging import tags

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
    if arch.startswith("linux"):
        glibc = _version_pair(virtual.get("__glibc", "2.17"), "__glibc")
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
        return PyPITarget(arch, python, f"{'x86_64' if machine == 'x86_64' else 'aarch64'}-manylinux_2_{max(minors)}", tuple(ordered))
    macos = _version_pair(virtual.get("__osx", "10.13" if machine == "x86_64" else "11.0"), "__osx")
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


def current_platform_tags() -> list[str]:
    """This machine's platform tags, most specific first."""
    from packaging.tags import platform_tags

    return list(platform_tags())


def current_arch_tags() -> list[str]:
    """This machine's platform tag, for messages about wheels built here."""
    return current_platform_tags()[:1]
