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
    from .step_request import steps_in_order

    steps = {}
    for step in steps_in_order(obj.flow):
        try:
            steps[step.name] = request_of(obj.environment, step)
        except Exception as error:  # one bad step must not hide the others
            steps[step.name] = {"error": " ".join(str(error).split())}
    with open(output, "w") as handle:
        json.dump({"flow": obj.flow.name, "steps": steps, "configs": sorted(declared_configs(type(obj.flow)))},
                  handle, default=str)
