import json

from metaflow._vendor import click


@click.group()
def cli():
    pass


@cli.group(help="mfci: environments resolved in CI.")
def mfci():
    pass


@mfci.command(help="Write every step's environment request as JSON (what `mfci warm` reads).")
@click.option("--output", required=True, help="File to write the JSON to.")
@click.pass_obj
def dump(obj, output):
    import os
    from pathlib import Path

    from mfci.flow_runner import declared_configs
    from mfci.uvlock import find_project

    from .seed_request import request_of
    from .step_request import uv_request

    steps = _each_step(obj.flow, lambda step: request_of(obj.environment, step))
    # A flow that declares no @pypi/@conda, under a uv project (found from the working
    # folder, as Metaflow's uv environment finds it), is run with --environment=uv.
    project = None if any(r.get("declared") for r in steps.values()) else find_project(Path(os.getcwd()))
    if project is not None:
        steps = _each_step(obj.flow, lambda step: uv_request(step, project, obj.environment.datastore_type))
    with open(output, "w") as handle:
        json.dump({"flow": obj.flow.name, "steps": steps, "configs": sorted(declared_configs(type(obj.flow)))},
                  handle, default=str)


def _each_step(flow, request):
    from .step_request import steps_in_order

    steps = {}
    for step in steps_in_order(flow):
        try:
            steps[step.name] = request(step)
        except Exception as error:  # one bad step must not hide the others
            steps[step.name] = {"error": " ".join(str(error).split())}
    return steps
