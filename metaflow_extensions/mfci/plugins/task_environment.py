"""A task, in the environment mfci built for it: its tools on PATH, and the task metadata
that says which environment it ran in, as the seed records it: `conda_env_id`, a JSON list
[spec_id, env_id, arch] (the seed's is [req_id, full_id, arch]).

Runs inside the task, in the step's own interpreter: stdlib only. The environment says who
it is through the marker mfci writes into every environment it builds."""

import json
import os
import sys

FIELD = "conda_env_id"
MARKER = ".mfci-env.json"  # mfci.create.MARKER


def current_environment():
    """[spec_id, env_id, arch] of the environment this interpreter belongs to, or None."""
    try:
        with open(os.path.join(sys.prefix, MARKER), encoding="utf-8") as handle:
            marker = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("state") != "complete":
        return None
    return [marker.get("spec_id"), marker.get("env_id"), marker.get("arch")]


def enter_environment(metadata, run_id, step_name, task_id, attempt):
    from metaflow.metadata_provider import MetaDatum

    environment = current_environment()
    if environment is None:
        return
    # The environment's own bin first: Metaflow adds the folder of the interpreter's real
    # path, which for a venv (and a linked python) is the base interpreter's, not the tools'.
    os.environ["PATH"] = os.pathsep.join(filter(None, (os.path.join(sys.prefix, "bin"), os.environ.get("PATH"))))
    metadata.register_metadata(run_id, step_name, task_id, [
        MetaDatum(field=FIELD, value=json.dumps(environment), type=FIELD, tags=["attempt_id:%d" % attempt])])
