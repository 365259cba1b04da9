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
    from mfci.flow_runner import declared_configs

    from .seed_request import request_of
    from .step_request import uv_request

    dump = {"flow": obj.flow.name, "steps": _each_step(obj.flow, lambda step: request_of(obj.environment, step)),
            "configs": sorted(declared_configs(type(obj.flow)))}
    if not any(request.get("declared") for request in dump["steps"].values()):
        # Such a flow may be run with --environment=uv: its steps' requests then, but for
        # the project, which discovery looks up each time (this dump is kept).
        dump["uv"] = _each_step(obj.flow, lambda step: uv_request(step, obj.environment.datastore_type))
    with open(output, "w") as handle:
        json.dump(dump, handle, default=str)


def _each_step(flow, request):
    from .step_request import steps_in_order

    steps = {}
    for step in steps_in_order(flow):
        try:
            steps[step.name] = request(step)
        except Exception as error:  # one bad step must not hide the others
            steps[step.name] = {"error": " ".join(str(error).split())}
    return steps
