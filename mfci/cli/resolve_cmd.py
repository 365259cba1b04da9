from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..alias import Alias, publish_alias
from ..envfile import Selection, read_environment_file
from ..errors import UsageError, WorkError
from ..objects import EnvRef
from ..resolve import ChannelUnreachable
from ..spec import build_spec, step_pythons
from ..status import Status
from ..warm import Warmer, WarmMode, families
from ._common import (
    DRY_RUN,
    JSON,
    PYTHON,
    REFRESH,
    ROOT,
    UPGRADE,
    check_archs,
    check_pythons,
    emit_json,
    say,
    settings_of,
)
from ._progress import Reporter

NAME = "resolve"
HELP = "Resolve and publish an environment from a file (environment.yml, requirements.txt, pyproject.toml)."


def run(
    ctx: typer.Context,
    environment_yml: Optional[Path] = typer.Option(None, "-f", "--file", help="A conda environment.yml."),
    requirements: Optional[Path] = typer.Option(None, "-r", "--requirement", help="A requirements.txt."),
    pyproject: Optional[Path] = typer.Option(None, "-p", "--pyproject", help="A pyproject.toml (its project dependencies)."),
    extra: Optional[List[str]] = typer.Option(None, "--extra", help="With -p: an optional-dependencies name; repeatable."),
    all_extras: bool = typer.Option(False, "--all-extras", help="With -p: every optional-dependencies name."),
    group: Optional[List[str]] = typer.Option(None, "--group", help="With -p: the name of a dependency group (PEP 735); repeatable."),
    python: Optional[str] = PYTHON,
    alias: Optional[List[str]] = typer.Option(None, "--alias", help="Name it NAME[:TAG]; repeatable."),
    arch: Optional[List[str]] = typer.Option(None, "--arch", help="Target arch; repeatable. Default: CONDA_ALL_ARCHS."),
    refresh: bool = REFRESH,
    upgrade: Optional[List[str]] = UPGRADE,
    dry_run: bool = DRY_RUN,
    root: Optional[str] = ROOT,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    given = [(kind, path) for kind, path in (("environment", environment_yml), ("requirements", requirements),
                                             ("pyproject", pyproject)) if path]
    if len(given) != 1:
        raise UsageError("give exactly one of -f environment.yml, -r requirements.txt, -p pyproject.toml")
    kind, path = given[0]
    aliases = [Alias.parse(text) for text in alias or []]
    archs = check_archs(settings, arch)
    preferred, known = check_pythons(settings, [python] if python else None)
    requirement = read_environment_file(path, kind, settings.environ,
                                        Selection(tuple(extra or ()), tuple(group or ()), all_extras))
    try:
        [chosen] = step_pythons(requirement, preferred)[:1]
        known.check(chosen)
    except (ValueError, WorkError) as error:
        raise UsageError(f"{path}: {error}") from None
    specs = {target: build_spec(requirement, settings.spec_inputs, target, chosen) for target in archs}
    store = settings.open_store(root)
    if not dry_run:
        store.ensure_writable()
    reporter = Reporter()
    warmer = Warmer(settings, store, reporter, mode=WarmMode.of(refresh, upgrade, dry_run),
                    sources=requirement.source_urls, insecure_hosts=requirement.pypi_options.trusted_hosts, known=known)
    reporter.total(len(archs), "environments")
    outcomes = {}
    for family in families({(spec.spec_id, target): spec for target, spec in specs.items()}):
        try:  # a PyPI environment's archs together: the same versions on each
            outcomes.update(warmer.warm_archs(family, jobs=4))
        except WorkError as error:
            outcomes.update(dict.fromkeys(family, error))
    envs, errors, refs = [], [], {}
    for target, spec in specs.items():
        outcome = outcomes[target]
        if not isinstance(outcome, WorkError):
            if outcome.env_id:
                refs[target] = EnvRef(spec.spec_id, outcome.env_id)
            envs.append({"arch": target, "spec_id": spec.spec_id, "env_id": outcome.env_id,
                         "status": str(outcome.status), **({"note": outcome.note} if outcome.note else {})})
            reporter.advance(f"{outcome.status:8} {target:13} {spec.spec_id[:12]} {path}")
        else:
            error = outcome
            envs.append({"arch": target, "spec_id": spec.spec_id, "env_id": None, "status": "failed"})
            # A channel that cannot be reached is said once, not once per arch.
            shared = isinstance(error, ChannelUnreachable)
            entry = {"file": str(path), "step": None, "message": str(error) if shared else f"{target}: {error}"}
            if entry not in errors:
                errors.append(entry)
            reporter.advance(f"failed   {target:13} {spec.spec_id[:12]} {path}")
    reporter.close()
    if not dry_run:
        errors += warmer.publish_installers(archs, list(specs.values()), 4)
    published = []
    for name in aliases if not errors else []:
        if dry_run:
            say(f"would publish alias {name} for {', '.join(archs)}")
            continue
        try:
            publish_alias(store, warmer.layout, name, refs, settings.user)
            published.append(str(name))
        except WorkError as error:
            errors.append({"file": str(path), "step": None, "message": str(error)})
    for error in errors:
        say(f"error: {error['file']}: {error['message']}")
    if as_json:
        emit_json({"python": chosen, "envs": envs, "aliases": published, "errors": errors, "dry_run": dry_run})
    else:
        pending = sum(e["status"] == Status.WOULD_RESOLVE for e in envs)
        done = f"would resolve {pending} of {len(envs)}" if dry_run else "resolved"
        say(f"mfci resolve: {path} (python {chosen}) for {', '.join(archs)} into {store.url}: {done}")
    if errors:
        raise typer.Exit(1)
