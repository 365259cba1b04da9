"""Which CPython versions exist: the releases uv knows (its bundled download list, read
offline), so that `--python 3.11.99` or a flow's `python="3"` is refused by name rather
than resolved, published and looked up for ever in vain."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .io.process import run, uv_binary

LIST_TIMEOUT = 60
VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class KnownPythons:
    versions: frozenset[str]   # X.Y.Z of every CPython release uv can install

    def check(self, text: str) -> str:
        """The version as given when it names a release (X.Y: some X.Y.Z exists); else
        ValueError saying what is wrong."""
        value = str(text).strip()
        match = VERSION.fullmatch(value)
        if not match:
            raise ValueError(f"python {value!r} is not a version X.Y or X.Y.Z (such as 3.11 or 3.11.9)")
        if match[3] is None:
            if not any(v.startswith(value + ".") for v in self.versions):
                raise ValueError(f"python {value} is not a CPython release")
        elif value not in self.versions:
            raise ValueError(f"python {value} is not a CPython release")
        return value


def known_pythons(environment: dict | None = None) -> KnownPythons:
    done = run([uv_binary(), "python", "list", "--all-versions", "--all-platforms", "--only-downloads",
                "--output-format", "json"], timeout=LIST_TIMEOUT, what="listing CPython releases",
               env=environment, check=True)
    entries = json.loads(done.stdout or "[]")
    return KnownPythons(frozenset(entry["version"] for entry in entries
                                  if entry.get("implementation") == "cpython" and VERSION.fullmatch(entry["version"])))
