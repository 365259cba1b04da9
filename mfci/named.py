"""Steps that use a published environment instead of their own: the seed's named
environments (`@named_env(name=...)`, an mfci alias) and a run's step (`pathspec=`, the
environment recorded in that task's `conda_env_id` metadata).

`@{VAR}` in a name or pathspec is replaced by the variable VAR (the process environment;
when a task starts, also METAFLOW_RUN_ID, METAFLOW_STEP_NAME, METAFLOW_TASK_ID and the
flow's parameters as METAFLOW_INIT_<NAME>), as in the seed. Imported by the remote
bootstrap: stdlib at module level (the Metaflow client is imported only for a pathspec).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping

from .alias import Alias
from .errors import UsageError, WorkError
from .lookup import Policy, find, find_by_alias, read_record
from .record import EnvRecord

VARIABLE = re.compile(r"@\{(\w+)\}")
PATHSPEC_PREFIX = "step:"   # the seed's way of writing a pathspec where a name is expected
METADATA_FIELD = "conda_env_id"


@dataclass(frozen=True)
class NamedEnv:
    name: str | None = None
    pathspec: str | None = None
    fetch_at_exec: bool = False

    @classmethod
    def from_json(cls, data: dict | None) -> "NamedEnv | None":
        if not data:
            return None
        return cls(data.get("name") or None, data.get("pathspec") or None, bool(data.get("fetch_at_exec")))

    @classmethod
    def parse(cls, text: str) -> "NamedEnv":
        """NAME[:TAG], or step:FLOW/RUN/STEP (how the bootstrap is told)."""
        if text.startswith(PATHSPEC_PREFIX):
            return cls(pathspec=text[len(PATHSPEC_PREFIX):])
        return cls(name=text)

    def __str__(self) -> str:
        return self.name if self.name else PATHSPEC_PREFIX + str(self.pathspec)

    @property
    def variables(self) -> list[str]:
        return VARIABLE.findall(str(self))

    def substituted(self, values: Mapping[str, str]) -> "NamedEnv":
        """With every @{VAR} replaced; WorkError naming a variable that has no value."""
        def replace(text: str | None) -> str | None:
            if text is None:
                return None
            missing = [v for v in VARIABLE.findall(text) if values.get(v) is None]
            if missing:
                raise WorkError(f"{text}: no value for @{{{missing[0]}}} (an environment variable, or one "
                                "of METAFLOW_RUN_ID, METAFLOW_STEP_NAME, METAFLOW_TASK_ID, METAFLOW_INIT_<PARAMETER> "
                                "when the task starts)")
            return VARIABLE.sub(lambda m: str(values[m.group(1)]), text)

        return NamedEnv(replace(self.name), replace(self.pathspec), self.fetch_at_exec)


def recorded_environment(pathspec: str) -> tuple[str, str, str]:
    """(spec_id, env_id, arch) a run's step ran in, from its task metadata (Metaflow's client,
    with whatever metadata provider Metaflow is configured with)."""
    parts = pathspec.strip("/").split("/")
    if len(parts) not in (3, 4):
        raise UsageError(f"pathspec {pathspec!r}: expected FLOW/RUN/STEP")
    from metaflow import Step
    from metaflow.exception import MetaflowException

    step_path = "/".join(parts[:3])
    try:
        task = Step(step_path, _namespace_check=False).task
        value = task.metadata_dict.get(METADATA_FIELD) if task is not None else None
    except MetaflowException as error:
        raise WorkError(f"{step_path}: not found in Metaflow's metadata ({' '.join(str(error).split())})") from None
    try:
        spec_id, env_id, arch = json.loads(value) if value else ("", "", "")
    except (TypeError, ValueError):
        spec_id = env_id = arch = ""
    if not (spec_id and env_id and arch):
        raise WorkError(f"{step_path} did not run in an environment mfci built (its task has no "
                        f"{METADATA_FIELD} metadata from mfci)")
    return spec_id, env_id, arch


def find_named(store, layout, policy: Policy, named: NamedEnv, arch: str | None, trace=None) -> EnvRecord:
    """The record a named environment gives on an arch (None: for a run's step, the arch it
    ran on); WorkError (saying what to run) when there is none. `named` must have its
    variables substituted."""
    if named.name:
        alias = Alias.parse(named.name)
        record = find_by_alias(store, layout, alias, arch)
        if trace:
            trace(f"alias {alias} on {arch}: {record.env_id if record else 'none'} ({store.url})")
        if record is None:
            raise WorkError(f"no environment named {alias} for {arch} in {store.url}; publish it with "
                            f"`mfci resolve -r requirements.txt --alias {alias} --arch {arch}`")
        return record
    spec_id, env_id, ran_on = recorded_environment(str(named.pathspec))
    arch = arch or ran_on
    if trace:
        trace(f"pathspec {named.pathspec}: spec {spec_id[:12]} env {env_id[:12]} on {ran_on}")
    # The very environment the step ran in; on another arch, that spec's published one.
    record = (read_record(store, layout.record(spec_id, arch, env_id)) if ran_on == arch
              else find(store, layout, spec_id, arch, policy))
    if record is None:
        raise WorkError(f"{named.pathspec} ran in environment {env_id[:12]} (spec {spec_id[:12]}, {ran_on}); "
                        f"{store.url} has no environment of that spec for {arch}")
    return record
