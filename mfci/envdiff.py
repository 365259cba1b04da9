"""What a pull request changes in its flows' environments: two sides of step environments
(the base branch's, the pull request's), each keyed by flow file × flow × step × arch,
compared package by package. Pure: the sides are gathered by `mfci/diff.py`, the result
rendered by `mfci/envdiff_markdown.py`."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from .record import EnvRecord

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class StepEnv:
    """One step's environment on one arch: the record it resolves to (None: the record the
    base manifest names is not in the store)."""

    file: str             # relative to the repository's top folder
    flow: str
    step: str
    arch: str
    python: str           # the python X.Y the step asks for
    record: EnvRecord | None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.file, self.flow, self.step, self.arch


def interpreter(record: EnvRecord) -> str:
    """The interpreter's exact version: the python build of a PyPI environment, the
    `python` package of a conda one, else the X.Y the record was resolved for."""
    for package in record.packages:
        if package.kind == "python" or (package.kind == "conda" and package.name == "python"):
            return package.version
    return record.python


def packages(record: EnvRecord) -> dict[str, str]:
    """Package label → version, without the interpreter. Conda packages say so: the same
    name from PyPI and from a channel are different packages."""
    found = {}
    for package in record.packages:
        if package.kind == "python" or (package.kind == "conda" and package.name == "python"):
            continue
        label = canonicalize_name(package.name) if package.kind == "pypi" else f"{package.name} (conda)"
        found[label] = package.version
    return found


@dataclass(frozen=True)
class StepChange:
    file: str
    flow: str
    step: str
    arch: str
    change: str                              # added | removed | changed
    base_python: str | None = None           # the interpreters, when they differ or one side is absent
    python: str | None = None
    added: tuple[tuple[str, str], ...] = ()              # (package, version)
    removed: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()       # (package, base version, new version)
    base_env: str | None = None
    env: str | None = None

    def to_json(self) -> dict:
        return {"file": self.file, "flow": self.flow, "step": self.step, "arch": self.arch, "change": self.change,
                "python": {"base": self.base_python, "new": self.python},
                "packages": {"added": [{"name": n, "version": v} for n, v in self.added],
                             "removed": [{"name": n, "version": v} for n, v in self.removed],
                             "changed": [{"name": n, "base": b, "new": v} for n, b, v in self.changed]},
                "env_id": {"base": self.base_env, "new": self.env}}


@dataclass
class EnvDiff:
    base: dict                       # which base was compared with: ref, commit, source, description
    changes: list[StepChange] = field(default_factory=list)
    unchanged: int = 0               # step environments (per arch) that are the same on both sides
    errors: list[dict] = field(default_factory=list)   # {file, step, message}: what could not be compared
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"base": self.base, "changes": [c.to_json() for c in self.changes], "unchanged": self.unchanged,
                "errors": self.errors, "notes": self.notes}


def compare(base: list[StepEnv], new: list[StepEnv], about_base: dict) -> EnvDiff:
    """Every step environment of either side, matched by (file, flow, step, arch); a step
    with several pythons on a side is matched python by python (and says which). A side's
    entry without a record (the store lost it) is an error, never a change."""
    diff = EnvDiff(about_base)
    old, now = _grouped(base, diff), _grouped(new, diff)
    for key in sorted(set(old) | set(now)):
        before, after = old.get(key, []), now.get(key, [])
        if len(before) <= 1 and len(after) <= 1:
            _compare_one(diff, key, before[0] if before else None, after[0] if after else None)
            continue
        was, is_ = {env.python: env for env in before}, {env.python: env for env in after}
        for python in sorted(set(was) | set(is_)):
            file, flow, step, arch = key
            _compare_one(diff, (file, flow, f"{step} (python {python})", arch), was.get(python), is_.get(python))
    return diff


def _compare_one(diff: EnvDiff, key: tuple[str, str, str, str], before: StepEnv | None, after: StepEnv | None) -> None:
    old, new = before.record if before else None, after.record if after else None
    if old is None or new is None:
        present = old or new
        diff.changes.append(StepChange(*key, change=ADDED if new else REMOVED,
                                       base_python=interpreter(old) if old else None,
                                       python=interpreter(new) if new else None,
                                       base_env=old.env_id if old else None, env=new.env_id if new else None,
                                       **{"added" if new else "removed": tuple(sorted(packages(present).items()))}))
        return
    if old.env_id == new.env_id:
        diff.unchanged += 1
        return
    was, is_ = packages(old), packages(new)
    pythons = (interpreter(old), interpreter(new))
    change = StepChange(
        *key, change=CHANGED,
        base_python=pythons[0] if pythons[0] != pythons[1] else None,
        python=pythons[1] if pythons[0] != pythons[1] else None,
        added=tuple(sorted((n, v) for n, v in is_.items() if n not in was)),
        removed=tuple(sorted((n, v) for n, v in was.items() if n not in is_)),
        changed=tuple(sorted((n, was[n], v) for n, v in is_.items() if n in was and was[n] != v)),
        base_env=old.env_id, env=new.env_id)
    if change.added or change.removed or change.changed or change.python:
        diff.changes.append(change)
    else:   # other files of the same versions (a rebuilt wheel, another build): no change to report
        diff.unchanged += 1


def _grouped(side: list[StepEnv], diff: EnvDiff) -> dict[tuple, list[StepEnv]]:
    found: dict[tuple, list[StepEnv]] = {}
    for env in side:
        if env.record is None:
            diff.errors.append({"file": env.file, "step": env.step,
                                "message": f"{env.flow} on {env.arch}: the base's environment record is not in the store"})
            continue
        found.setdefault(env.key, []).append(env)
    return found
