"""Metaflow's conda/pypi environments, served from what `mfci warm` published.

Thin on purpose: the work happens in `mfci.runtime`, imported only when a flow runs.
"""

import os

from metaflow.packaging_sys import ContentType
from metaflow.plugins.pypi.conda_environment import (
    CondaEnvironment,
    CondaEnvironmentException,
)

REMOTE_ENVS = ".mfci-envs"


class MfciCondaEnvironment(CondaEnvironment):
    TYPE = "conda"

    def __init__(self, flow):
        super().__init__(flow)
        self._placements = {}

    def validate_environment(self, logger, datastore_type):
        # Core builds its micromamba/pip solvers here; mfci needs them only to fall back.
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

    def init_environment(self, echo, only_steps=None):
        from mfci.errors import MfciError
        from mfci.runtime import place_steps

        from .step_request import step_request, steps_in_order

        requests = {}
        for step in steps_in_order(self.flow):
            if only_steps and step.name not in only_steps:
                continue
            request = step_request(self, step)
            if request.get("uses_environment"):
                requests[step.name] = request
        try:
            settings = self._settings()
            launch = place_steps(settings, self.flow.name, requests, echo, getattr(self, "datastore_type", None))
            strict = settings["CONDA_MFCI_STRICT"]
        except (MfciError, OSError) as error:
            raise CondaEnvironmentException(f"mfci: {error}")
        self._placements.update(launch.placements)
        if not launch.missing:
            return
        if strict:
            step, why = next(iter(launch.missing.items()))
            raise CondaEnvironmentException(
                f"mfci: step '{step}' of {self.flow.name} has no warmed environment ({why}); "
                f"run `mfci warm` on this flow, or unset METAFLOW_CONDA_MFCI_STRICT to let Metaflow resolve it"
            )
        for step, why in launch.missing.items():
            echo(f"[mfci] {step}: {why}; Metaflow resolves it itself")
        super().validate_environment(self.logger, self.datastore_type)
        super().init_environment(echo, only_steps=list(launch.missing))

    def interpreter(self, step_name):
        placement = self._placements.get(step_name)
        if placement is not None and placement.python is not None:
            return str(placement.python)
        return super().interpreter(step_name)

    def _remote_prefix(self, placement):
        return os.path.join(REMOTE_ENVS, placement.record.env_id)

    def executable(self, step_name, default=None):
        placement = self._placements.get(step_name)
        if placement is not None and placement.remote:
            return os.path.join(self._remote_prefix(placement), "bin/python -s")
        return super().executable(step_name, default)

    def bootstrap_commands(self, step_name, datastore_type):
        placement = self._placements.get(step_name)
        if placement is None or not placement.remote:
            return super().bootstrap_commands(step_name, datastore_type)
        from mfci.runtime import bootstrap_command

        return [
            "echo 'Bootstrapping mfci environment...'",
            "flush_mflogs",
            bootstrap_command(self._settings(), placement, self._remote_prefix(placement)),
            "echo 'Environment bootstrapped.'",
            "flush_mflogs",
        ]

    def add_to_package(self):
        # The bootstrap of a remote task imports mfci's pure-Python part and filelock;
        # the worker has neither installed.
        # (Listed file by file: Metaflow's MODULE_CONTENT mishandles regular packages.)
        import filelock

        import mfci

        return super().add_to_package() + [
            entry for package in (mfci, filelock) for entry in _python_files(package)
        ]


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
