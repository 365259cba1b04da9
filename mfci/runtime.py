"""What the Metaflow extension does at launch: look each step up, create local ones.

Called from metaflow_extensions/mfci with the settings it read once and the requests
Metaflow computed. A step that was not warmed is resolved here, exactly as `mfci warm`
would, and published (so the next launch and CI find it) — unless CONDA_MFCI_STRICT, which
fails it. A step that uses a named environment looks that up instead; one with
fetch_at_exec is looked up when its task starts (`place_named`, or the remote bootstrap).
With METAFLOW_DEBUG_CONDA=1 every lookup, store read and install step is logged.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from .arch import current_arch
from .config import Settings
from .create import env_folder, local_installer
from .errors import MfciError, WorkError
from .lookup import LocalPins, find, miss_reason, read_record
from .named import NamedEnv, find_named
from .record import EnvRecord
from .spec import StepRequirement, build_spec
from .store.traced import traced
from .uvlock import UvProject, stale_lock


@dataclass(frozen=True)
class Placement:
    record: EnvRecord | None  # None: a remote step whose named environment its task looks up
    python: Path | None       # the local interpreter; None for a remote step
    remote: bool
    root: str                 # the store it came from, where a remote task fetches it again
    named: str | None = None  # what a remote task looks up when it starts (fetch_at_exec)


@dataclass(frozen=True)
class Launch:
    placements: dict[str, Placement]
    missing: dict[str, str]   # step -> why (strict mode: not warmed)


class Runtime:
    """One launch: the store (read through a tracer under METAFLOW_DEBUG_CONDA), the local
    installer and, for steps that were not warmed, a warmer — each made once."""

    def __init__(self, settings: Settings, flow: str, echo: Callable[[str], None], datastore: str | None = None):
        self.settings, self.flow, self.echo = settings, flow, echo
        self.trace = (lambda line: echo(f"[mfci debug] {line}")) if settings.debug else None
        # `datastore` is the flow's datastore type: it picks the store root, as in the seed.
        self.store = traced(settings.open_store(datastore=datastore), self.trace)
        self.pins = LocalPins(settings.cache_dir / "pins")
        self._installer = self._warmer = None

    def place(self, requests: dict[str, dict]) -> Launch:
        placements, missing = {}, {}
        for step, request in requests.items():
            requirement = StepRequirement.from_json("", self.flow, step, request)
            remote = request.get("remote_arch")
            arch = remote or current_arch()
            named = NamedEnv.from_json(requirement.named)
            try:
                if named and named.fetch_at_exec:
                    if remote:  # its task looks the name up itself when it starts
                        placements[step] = Placement(None, None, True, self.store.url, str(named))
                        self.echo(f"[mfci] {step}: environment {named} is looked up when the task starts")
                    continue
                if named:
                    record = self._named(named, arch, self.settings.environ)
                else:
                    spec = build_spec(requirement, self.settings.spec_inputs, arch)
                    record = self._own(step, spec, arch, remote, requirement.uv_project)
                    if record is None:
                        missing[step] = miss_reason(self.settings.policy, spec.spec_id, arch, self.store.url)
                        continue
                placements[step] = self._placed(step, record, bool(remote))
            except MfciError as error:
                raise WorkError(f"step '{step}': {error}") from None
        return Launch(placements, missing)

    def place_named(self, step: str, request: dict, variables: Mapping[str, str]) -> Placement:
        """A local fetch_at_exec step, when its task starts: the name looked up now."""
        named = NamedEnv.from_json(request.get("named"))
        try:
            return self._placed(step, self._named(named, current_arch(), {**self.settings.environ, **variables}),
                                False)
        except MfciError as error:
            raise WorkError(f"step '{step}': {error}") from None

    def _named(self, named: NamedEnv, arch: str, variables: Mapping[str, str]) -> EnvRecord:
        return find_named(self.store, self.settings.layout, self.settings.policy, named.substituted(variables),
                          arch, self.trace)

    def _own(self, step: str, spec, arch: str, remote: str | None, project: UvProject | None) -> EnvRecord | None:
        """The step's own environment: looked up; in strict mode None when not warmed, else
        resolved and published now (a uv project's only when its lock is up to date)."""
        record = find(self.store, self.settings.layout, spec.spec_id, arch, self.settings.policy, self.pins)
        if self.trace:
            self.trace(f"lookup {step}: spec {spec.spec_id[:12]} on {arch} "
                       f"({self.settings['CONDA_USE_REMOTE_LATEST']}): {record.env_id if record else 'none'}")
        if record is not None or self.settings["CONDA_MFCI_STRICT"]:
            return record
        self.echo(f"[mfci] {step}: not warmed (spec {spec.spec_id[:12]} on {arch}); resolving it now, "
                  "as `mfci warm` would")
        stale = project and stale_lock(project, self.settings.environ, self.settings["CONDA_MFCI_TOOL_TIMEOUT"])
        if stale:
            raise WorkError(stale)
        warmer = self.warmer()
        outcome = warmer.warm_one(spec, arch, jobs=4)
        if remote:  # its task needs the installers `warm` publishes for the arch
            errors = warmer.publish_installers([arch], [spec], 4)
            if errors:
                raise WorkError(errors[0]["message"])
        record = read_record(self.store, self.settings.layout.record(spec.spec_id, arch, outcome.env_id))
        if record is None:
            raise WorkError(f"environment {outcome.env_id[:12]} was published but cannot be read back")
        self.pins.put(record)
        return record

    def _placed(self, step: str, record: EnvRecord, remote: bool) -> Placement:
        python = None
        if not remote:
            python = self.installer().create(record, env_folder(self.settings.cache_dir, record.env_id)).python
        self.echo(f"[mfci] {step}: environment {record.env_id[:12]} ({record.arch}) from {self.store.url}")
        return Placement(record, python, remote, self.store.url)

    def installer(self):
        if self._installer is None:
            self._installer = local_installer(self.settings, self.store, note=self.echo, trace=self.trace)
        return self._installer

    def warmer(self):
        if self._warmer is None:
            from .warm import Warmer

            self._warmer = Warmer(self.settings, self.store, _Echoed(self.echo))
        return self._warmer


class _Echoed:
    """A warm's progress, as launch messages."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo

    def total(self, count: int, what: str) -> None:
        pass

    def advance(self, line: str) -> None:
        self.echo(f"[mfci] {line}")

    def note(self, line: str) -> None:
        self.echo(f"[mfci] {line}")


def place_steps(settings: Settings, flow: str, requests: dict[str, dict], echo: Callable[[str], None],
                datastore: str | None = None) -> Launch:
    return Runtime(settings, flow, echo, datastore).place(requests)


def bootstrap_command(settings: Settings, placement: Placement, prefix: str) -> str:
    """The shell line a remote task runs to build its environment from the store."""
    layout = settings.layout
    record = placement.record
    target = (["--record", layout.record(record.spec_id, record.arch, record.env_id)] if record
              else ["--named", placement.named])
    arguments = [
        "--root", placement.root,
        *target,
        "--envs", layout.envs,
        "--installers", layout.installers,
        "--packages", layout.packages,
        "--prefix", prefix,
    ]
    return "python -m mfci.bootstrap " + " ".join(shlex.quote(a) for a in arguments)
