"""Metaflow's conda/pypi environments, served from what `mfci warm` published.

Thin on purpose: the work happens in `mfci.runtime`, imported only when a flow runs.
"""

import os
from pathlib import Path

from metaflow.metaflow_environment import MetaflowEnvironment
from metaflow.packaging_sys import ContentType
from metaflow.plugins.pypi.conda_environment import (
    CondaEnvironment,
    CondaEnvironmentException,
)
from metaflow.plugins.uv.uv_environment import UVEnvironment

REMOTE_ENVS = ".mfci-envs"


class MfciCondaEnvironment(CondaEnvironment):
    TYPE = "conda"

    def __init__(self, flow):
        super().__init__(flow)
        self._placements = {}
        self._requests = {}
        self._runtime = None

    def validate_environment(self, logger, datastore_type):
        # Core builds its micromamba/pip solvers here; mfci needs none.
        # mfci reads its settings here, once for the run.
        from metaflow.plugins import DATASTORES

        self.logger = logger
        self.datastore_type = datastore_type
        self.datastore = [d for d in DATASTORES if d.TYPE == datastore_type][0]

    def _settings(self):
        if getattr(self, "_mfci_settings", None) is None:
            from mfci.config import Settings

            self._mfci_settings = Settings.load()
        return self._mfci_settings

    def get_environment(self, step):
        """Metaflow's, except that a step may have conda and PyPI packages both (the seed's
        mixed environments: @conda_base plus a step's @pypi), which Metaflow refuses."""
        decorators = {d.name: d for d in step.decorators}
        conda = decorators.get("conda")
        if conda is None or "pypi" not in decorators or not conda.attributes.get("packages"):
            return super().get_environment(step)
        packages = conda.attributes["packages"]
        conda.attributes["packages"] = {}  # what Metaflow's check sees; the request reads them back
        try:
            return super().get_environment(step)
        finally:
            conda.attributes["packages"] = packages

    def init_environment(self, echo, only_steps=None):
        from mfci.errors import MfciError
        from mfci.runtime import Runtime

        from .serving import MFCI, notice, seed_installed
        from .step_request import steps_in_order

        if seed_installed():
            echo(notice(MFCI))
        for step in steps_in_order(self.flow):
            if only_steps and step.name not in only_steps:
                continue
            request = self._request(step)
            if request.get("uses_environment"):
                self._requests[step.name] = request
        try:
            self._runtime = Runtime(self._settings(), self.flow.name, echo, getattr(self, "datastore_type", None))
            launch = self._runtime.place(self._requests)
        except (MfciError, OSError) as error:
            raise CondaEnvironmentException(f"mfci: {error}")
        self._placements.update(launch.placements)
        if launch.missing:
            step, why = next(iter(launch.missing.items()))
            raise CondaEnvironmentException(
                f"mfci: step '{step}' of {self.flow.name} has no warmed environment ({why}); run `mfci warm` "
                "on this flow, or unset METAFLOW_CONDA_MFCI_STRICT to let mfci resolve it at launch"
            )

    def _request(self, step):
        from .seed_request import request_of

        return request_of(self, step)

    def place_at_exec(self, step_name, task_id, input_paths, flow_datastore):
        """A local step whose named environment is looked up when its task starts (the seed's
        fetch_at_exec): look it up now, with the task's variables for @{...}."""
        request = self._requests.get(step_name) or {}
        named = request.get("named") or {}
        if not named.get("fetch_at_exec") or request.get("remote_arch") or self._runtime is None:
            return
        from mfci.errors import MfciError

        from .seed_request import task_variables

        try:
            variables = task_variables(self.flow, step_name, task_id, input_paths, flow_datastore)
            self._placements[step_name] = self._runtime.place_named(step_name, request, variables)
        except MfciError as error:
            raise CondaEnvironmentException(f"mfci: {error}")

    def interpreter(self, step_name):
        placement = self._placements.get(step_name)
        if placement is not None and placement.python is not None:
            return str(placement.python)
        return super().interpreter(step_name)

    def _remote_prefix(self, step_name, placement):
        name = placement.record.env_id if placement.record else f"named-{step_name}"
        return os.path.join(REMOTE_ENVS, name)

    def executable(self, step_name, default=None):
        placement = self._placements.get(step_name)
        if placement is not None and placement.remote:
            return os.path.join(self._remote_prefix(step_name, placement), "bin/python -s")
        return super().executable(step_name, default)

    def bootstrap_commands(self, step_name, datastore_type):
        placement = self._placements.get(step_name)
        if placement is None or not placement.remote:
            return super().bootstrap_commands(step_name, datastore_type)
        from mfci.runtime import bootstrap_command

        return [
            "echo 'Bootstrapping mfci environment...'",
            "flush_mflogs",
            bootstrap_command(self._settings(), placement, self._remote_prefix(step_name, placement)),
            "echo 'Environment bootstrapped.'",
            "flush_mflogs",
        ]

    def add_to_package(self):
        # The bootstrap of a remote task imports mfci's pure-Python part (stdlib only);
        # the worker does not have it installed.
        # (Listed file by file: Metaflow's MODULE_CONTENT mishandles regular packages.)
        import mfci

        return super().add_to_package() + list(_python_files(mfci))


def _python_files(package):
    root = os.path.dirname(package.__file__)
    name = package.__name__
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [s for s in subfolders if s != "__pycache__"]
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                arcname = os.path.join(name, os.path.relpath(path, root))
                yield path, arcname, ContentType.CODE_CONTENT


class MfciPyPIEnvironment(MfciCondaEnvironment):
    TYPE = "pypi"


class MfciUvEnvironment(MfciCondaEnvironment):
    """Metaflow's `--environment=uv`, served from the store: every step's environment is the
    one `mfci warm` published for the project's uv.lock (and the arch), built from stored
    files with no index, no GitHub and no solver; the code package ships the pyproject and
    lock as Metaflow's does."""

    TYPE = "uv"

    def decospecs(self):
        # Not @conda (it refuses this environment): mfci_uv runs each local task on its
        # environment's interpreter, with Metaflow's code on its path, as @conda does.
        return ("mfci_uv",) + MetaflowEnvironment.decospecs(self)

    def _request(self, step):
        from mfci.errors import MfciError
        from mfci.uvlock import find_project, project_request

        from .step_request import uv_request

        project = find_project(Path(os.getcwd()))
        if project is None:
            raise CondaEnvironmentException(
                f"mfci: --environment=uv needs a pyproject.toml and a uv.lock in {os.getcwd()} or a folder above it")
        try:
            return project_request(uv_request(step, self.datastore_type), project)
        except MfciError as error:  # the lock cannot be read
            raise CondaEnvironmentException(f"mfci: {error}")

    def executable(self, step_name, default=None):
        placement = self._placements.get(step_name)
        if placement is not None and not placement.remote:
            return str(placement.python)
        return super().executable(step_name, default)

    def add_to_package(self):
        # Metaflow's uv files (the pyproject and lock), not conda's manifest; and mfci.
        import mfci

        return UVEnvironment.add_to_package(self) + list(_python_files(mfci))
