import json

from metaflow._vendor import click
from metaflow.decorators import StepDecorator


class FakeRemoteDecorator(StepDecorator):
    name = "fake_remote"
    defaults = {}
    supports_conda_environment = True
    target_platform = "linux-64"


@click.group()
def cli():
    pass


@cli.group()
def remotetest():
    pass


@remotetest.command()
@click.option("--step", required=True)
@click.option("--output", required=True)
@click.pass_obj
def script(obj, step, output):
    from metaflow.package import MetaflowPackage

    metadata = json.dumps({"version": 0, "archive_format": "tgz", "mfcontent_version": 1})
    environment = obj.environment
    environment.init_environment(obj.echo, only_steps=[step])
    exports = [
        "export %s=%s:$(printenv %s)" % (k, v, k) if not k.endswith(":") else "export %s=%s" % (k[:-1], v)
        for k, v in MetaflowPackage.get_post_extract_env_vars(metadata, dest_dir="$(pwd)").items()
    ]
    lines = (
        MetaflowPackage.get_extract_commands(metadata, "job.tar", dest_dir=".")
        + exports
        + environment.bootstrap_commands(step, obj.flow_datastore.TYPE)
    )
    with open(output, "w") as handle:
        json.dump({"lines": lines, "executable": environment.executable(step)}, handle)
