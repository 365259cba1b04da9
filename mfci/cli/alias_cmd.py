from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..alias import Alias, publish_alias
from ..errors import UsageError, WorkError
from ..lookup import published, read_alias
from ..objects import EnvRef
from ..spec import build_spec
from ._common import (
    DRY_RUN,
    JSON,
    PYTHON,
    ROOT,
    STEP,
    check_archs,
    emit_json,
    say,
    settings_of,
    step_requirement,
)

NAME = "alias"
HELP = ("Name a published environment NAME[:TAG]: a flow's step (FLOW_FILE --step STEP) or another alias, "
        "for every requested arch in one operation.")


def _from_alias(settings, store, source: str, archs: list[str] | None) -> dict[str, EnvRef]:
    name = Alias.parse(source)
    target = read_alias(store, settings.layout, name)
    if target is None:
        raise WorkError(f"no environment named {name} in {store.url}")
    if archs is None:
        return dict(target.envs)
    missing = [arch for arch in archs if arch not in target.envs]
    if missing:
        raise WorkError(f"{name} has no environment for {', '.join(missing)} (it has {', '.join(sorted(target.envs))})")
    return {arch: target.envs[arch] for arch in archs}


def _from_step(settings, store, flow_file: Path, step: str, archs: list[str] | None,
               python: str | None) -> dict[str, EnvRef]:
    """The environment of a flow's step on each arch: what warm published (the pointer a
    run follows). Without --arch, every configured arch it is published for."""
    requirement = step_requirement(settings, flow_file, step)
    refs, missing = {}, []
    for arch in archs or settings["CONDA_ALL_ARCHS"]:
        spec = build_spec(requirement, settings.spec_inputs, arch, python)
        pointer = published(store, settings.layout, settings.policy, spec.spec_id, arch)
        if pointer:
            refs[arch] = EnvRef(spec.spec_id, pointer.env_id)
        else:
            missing.append(arch)
    if (archs and missing) or not refs:
        raise WorkError(f"{flow_file} step {step} has no published environment for {', '.join(missing)} in "
                        f"{store.url}; run `mfci warm {flow_file}` first")
    return refs


def run(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="FLOW_FILE (with --step), or an alias NAME[:TAG]."),
    name: str = typer.Argument(..., help="The name to give: NAME[:TAG] (TAG defaults to latest)."),
    step: Optional[str] = STEP,
    arch: Optional[List[str]] = typer.Option(None, "--arch", help="Arch; repeatable. Default: every arch the "
                                             "source has (a step: of CONDA_ALL_ARCHS)."),
    python: Optional[str] = PYTHON,
    dry_run: bool = DRY_RUN,
    root: Optional[str] = ROOT,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    target = Alias.parse(name)
    archs = check_archs(settings, arch) if arch else None
    if source.startswith("step:"):   # the seed's pathspec form
        raise UsageError(f"{source}: a run's pathspec cannot be aliased yet (mfci records no environment "
                         "per task); alias its flow file's step (FLOW_FILE --step STEP) instead")
    store = settings.open_store(root)
    if step:
        refs = _from_step(settings, store, Path(source), step, archs, python)
    else:
        if python:
            raise UsageError("--python applies to a flow's step (FLOW_FILE --step STEP)")
        refs = _from_alias(settings, store, source, archs)
    if not dry_run:
        store.ensure_writable()
        publish_alias(store, settings.layout, target, refs, settings.user)
    envs = {a: {"spec_id": ref.spec_id, "env_id": ref.env_id} for a, ref in sorted(refs.items())}
    if as_json:
        emit_json({"alias": str(target), "envs": envs, "published": not dry_run})
    else:
        verb = "would point" if dry_run else "points"
        for a, ref in sorted(refs.items()):
            say(f"{target} {verb} to {ref.env_id[:12]} on {a} (spec {ref.spec_id[:12]})")
