"""`mfci diff`: the step environments a pull request's code asks for, against those of its
base branch.

The pull request's side is planned as `warm` plans it; an environment published already is
read from its record, any other is resolved for the diff alone: nothing is written to the
store (a pull request from a fork must not write where runs read). The base's side is what
the repository's manifest recorded (its warm of the base commit, else its latest warm,
saying so); a store without a manifest of the repository has the base's code checked out
into a temporary git worktree and planned the same way as the pull request's."""

from __future__ import annotations

import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from .config import Settings
from .consumers import check_consumers
from .envdiff import EnvDiff, StepEnv, compare
from .errors import UsageError, WorkError
from .io.process import run
from .lookup import published, read_record
from .objects import Manifest, read_object
from .plan import Plan, PlanOptions
from .pythons import KnownPythons
from .record import EnvRecord
from .spec import EnvSpec
from .store import Store
from .warm import Progress, Warmer, WarmMode, families, repository_identity

COMMIT = re.compile(r"[0-9a-f]{40}")


def diff(settings: Settings, store: Store, options: PlanOptions, base_ref: str, progress: Progress,
         known: KnownPythons | None = None) -> EnvDiff:
    repository, _head, top = repository_identity(Path(options.paths[0]), settings.environ)
    commit = base_commit(top, base_ref)
    warmer = Warmer(settings, store, progress, mode=WarmMode(read_only=True), known=known)
    new, errors, notes = tree_side(warmer, options, top)
    notes = list(notes)

    manifest = read_object(store, settings.layout.manifest(repository), Manifest.from_json)
    about = {"ref": base_ref, "commit": commit, "repository": repository}
    if manifest is not None:
        base = manifest_side(store, settings, manifest, options, top)
        if manifest.ref == commit:
            about |= {"source": "manifest", "description": f"`{base_ref}` (`{commit[:12]}`): the environments its "
                      f"warm published (manifest of `{repository}`)"}
        else:
            when = manifest.updated_at[:16].replace("T", " ")
            about |= {"source": "latest-manifest", "manifest_ref": manifest.ref,
                      "description": f"`{base_ref}` (`{commit[:12]}`) as the latest manifest of `{repository}` "
                      f"recorded it: a warm of `{manifest.ref[:12]}` ({when} UTC); the base commit itself "
                      "was not warmed"}
    else:
        base, base_errors = base_code_side(warmer, options, top, commit)
        errors += [{**error, "message": f"(base) {error['message']}"} for error in base_errors]
        about |= {"source": "code", "description": f"`{base_ref}` (`{commit[:12]}`) resolved from its code: "
                  f"{store.url} has no manifest of `{repository}`"}
    result = compare(base, new, about)
    result.errors = errors + result.errors
    result.notes = notes
    return result


def base_commit(top: str, ref: str) -> str:
    """The commit a git ref names; a full commit id git does not have (a shallow clone)
    is taken as given: the manifest lookup needs no more."""
    done = run(["git", "-C", top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], timeout=30,
               what="asking git for the base commit")
    if done.ok and done.stdout.strip():
        return done.stdout.strip()
    if COMMIT.fullmatch(ref):
        return ref
    raise UsageError(f"--base {ref}: not a commit of the repository at {top} (fetch it first, e.g. "
                     f"`git fetch origin {ref}`)")


def tree_side(warmer: Warmer, options: PlanOptions, top: str,
              flows_required: bool = True) -> tuple[list[StepEnv], list[dict], list[str]]:
    """Every step environment of the flows under the paths, with the errors (files relative
    to `top`) and notes of planning it. `flows_required=False`: paths without any flow are
    an empty side, not an error (a base before the repository's first flow)."""
    plan = warmer.plan(options)
    if not plan.flows and not flows_required:
        return [], [], []
    warmer.progress.note(plan.discovery_line(options.paths))
    records = environments(warmer, plan, options.jobs)
    check_consumers(plan, warmer.store, warmer.settings, options.jobs)
    envs = []
    for row in plan.rows:
        record = records.get((row.spec.spec_id, row.arch)) if row.spec else row.reference
        if record is not None:
            requirement = row.requirement
            envs.append(StepEnv(_relative(requirement.file, top), requirement.flow, requirement.step, row.arch,
                                record.python, record))
    errors = [{**error, "file": _relative(error["file"], top)} for error in plan.errors]
    return envs, errors, plan.notes


def environments(warmer: Warmer, plan: Plan, jobs: int) -> dict[tuple[str, str], EnvRecord]:
    """The record of every (spec, arch) of the plan: the published one, else a resolution
    (one per environment for all its archs, as warm makes it) that is neither stored nor
    published. A failure fails that pair's rows only."""
    store, settings = warmer.store, warmer.settings
    warmer.progress.total(len(plan.specs), "environments")
    found: dict[tuple[str, str], EnvRecord] = {}

    def settle(spec: EnvSpec, arch: str, outcome: EnvRecord | WorkError, status: str) -> None:
        if isinstance(outcome, WorkError):
            plan.fail(spec.spec_id, arch, str(outcome))
            status = "failed"
        else:
            found[spec.spec_id, arch] = outcome
        warmer.progress.advance(f"{status:8} {arch:13} {spec.spec_id[:12]}")

    def one(family: dict[str, EnvSpec]) -> None:
        pending = {}
        for arch, spec in family.items():
            try:
                pointer = published(store, settings.layout, settings.policy, spec.spec_id, arch)
                record = pointer and read_record(store, settings.layout.record(spec.spec_id, arch, pointer.env_id))
            except WorkError as error:
                settle(spec, arch, error, "failed")
                continue
            if record:
                settle(spec, arch, record, "found")
            else:
                pending[arch] = spec
        if pending:
            try:
                records = warmer.resolve(pending, jobs)
            except WorkError as error:   # the resolver itself is unusable
                records = {arch: error for arch in pending}
            for arch, outcome in records.items():
                settle(pending[arch], arch, outcome, "resolved")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, families(dict(plan.specs))))
    return found


def manifest_side(store: Store, settings: Settings, manifest: Manifest, options: PlanOptions,
                  top: str) -> list[StepEnv]:
    """The manifest's entries for flow files under the paths, on the archs compared."""
    folders = [_relative(path, top) for path in options.paths]
    entries = [entry for entry in manifest.entries.values()
               if entry.get("arch") in options.archs and _under(str(entry.get("file", "")), folders)]

    def one(entry: dict) -> StepEnv:
        key = settings.layout.record(str(entry["spec_id"]), str(entry["arch"]), str(entry["env_id"]))
        return StepEnv(str(entry["file"]), str(entry.get("flow", "")), str(entry["step"]), str(entry["arch"]),
                       str(entry.get("python") or ""), read_record(store, key))

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        return list(pool.map(one, entries))


def base_code_side(warmer: Warmer, options: PlanOptions, top: str, commit: str) -> tuple[list[StepEnv], list[dict]]:
    """The base's own step environments: its commit checked out into a temporary git
    worktree (removed afterwards), planned over the same paths as the pull request's."""
    with tempfile.TemporaryDirectory(prefix="mfci-diff-base-") as scratch:
        tree = Path(scratch) / "base"
        added = run(["git", "-C", top, "worktree", "add", "--detach", str(tree), commit], timeout=300,
                    what=f"checking out the base commit {commit[:12]}")
        if not added.ok:
            raise WorkError(f"the store has no manifest of this repository and the base commit {commit[:12]} cannot "
                            f"be checked out ({added.error_text()}); fetch it (actions/checkout: fetch-depth: 0)")
        try:
            paths = [str(tree / _relative(path, top)) for path in options.paths]
            paths = [path for path in paths if os.path.exists(path)]
            if not paths:   # the pull request adds the folders themselves
                return [], []
            envs, errors, _notes = tree_side(warmer, replace(options, paths=paths), str(tree), flows_required=False)
            return envs, errors
        finally:
            run(["git", "-C", top, "worktree", "remove", "--force", str(tree)], timeout=60,
                what="removing the base's worktree")


def _relative(path: str, top: str) -> str:
    relative = os.path.relpath(os.path.abspath(path), top)
    return "." if relative == "." else relative.replace(os.sep, "/")


def _under(file: str, folders: list[str]) -> bool:
    return any(folder == "." or file == folder or file.startswith(folder.rstrip("/") + "/") for folder in folders)
