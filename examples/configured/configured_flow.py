"""Packages and python come from a Config file, as Metaflow resolves it."""

from metaflow import Config, FlowSpec, config_expr, pypi_base, step


@pypi_base(packages=config_expr("deps.packages"), python=config_expr("deps.python"))
class ConfiguredFlow(FlowSpec):
    deps = Config("deps", default="deps.json")

    @step
    def start(self):
        import packaging
        import tomli

        print("tomli and packaging", packaging.__version__)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ConfiguredFlow()
