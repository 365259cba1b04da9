"""A flow-level @pypi_base with one step that adds a package of its own."""

from metaflow import FlowSpec, pypi, pypi_base, step


@pypi_base(packages={"pyyaml": "6.0.2"})
class HelloPyPIFlow(FlowSpec):
    @step
    def start(self):
        import yaml

        self.doc = yaml.safe_dump({"hello": "mfci"})
        self.next(self.end)

    @pypi(packages={"six": "1.16.0"})
    @step
    def end(self):
        import six
        import yaml

        print(yaml.safe_load(self.doc), "six", six.__version__)


if __name__ == "__main__":
    HelloPyPIFlow()
