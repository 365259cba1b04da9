from .seed_decorators import MfciCondaStepDecorator


class UvStepDecorator(MfciCondaStepDecorator):
    """Attached to every step under --environment=uv (never written by hand): a local task
    runs on the interpreter of the environment mfci built for the project's lock, with
    Metaflow's code on its path, and records which environment that was, as @conda does."""

    name = "mfci_uv"

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        # Not @conda's: that one refuses every environment but conda and pypi.
        self.flow, self.step, self.environment, self.datastore = flow, step, environment, flow_datastore
        self.disabled = False
