"""The archs mfci targets, in conda's terms, and which one this machine is."""

from __future__ import annotations

import platform

ALL_ARCHS = ("linux-64", "osx-64", "osx-arm64", "linux-aarch64")


def current_arch() -> str:
    """This machine in conda's terms, linux-aarch64 included."""
    system, machine = platform.system(), platform.machine().lower()
    if system == "Darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    if machine in ("aarch64", "arm64"):
        return "linux-aarch64"
    return "linux-64"
