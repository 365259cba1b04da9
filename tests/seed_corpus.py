"""Flows written the way the seed's (metaflow-netflixext's) users write them, one per
decorator argument — modelled on its documentation's examples — and the small things they
need here: a second conda channel, a private PyPI index, named environments."""

from __future__ import annotations

import base64
import hashlib
import textwrap
import zipfile
from pathlib import Path

from conda_channel import SUBDIRS, index, tool_package, write_package


def second_channel(folder: Path) -> Path:
    """A channel holding one package the main test channel lacks (for `channels=`)."""
    for subdir in SUBDIRS:
        (folder / subdir).mkdir(parents=True, exist_ok=True)
    write_package(tool_package("team-tool", "noarch"), folder, ".conda")
    index(folder)
    return folder


def private_wheel(folder: Path, version: str) -> Path:
    """A pure-Python wheel of a project PyPI does not have (for `extra_indices=`)."""
    name = "mfci_corpus_private"
    files = {
        f"{name}.py": f'VERSION = "{version}"\n'.encode(),
        f"{name}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: mfci-corpus-private\nVersion: {version}\n".encode(),
        f"{name}-{version}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: mfci-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
              f"{len(data)}" for path, data in files.items()]
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record + [f"{name}-{version}.dist-info/RECORD,,"])
                                                   + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def flow(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def write_corpus(folder: Path, channel: str, index_url: str) -> dict[str, Path]:
    flows = {}
    flows["channels"] = flow(folder, "channels_flow", f'''
        from metaflow import FlowSpec, conda, step
        import subprocess

        class ChannelsFlow(FlowSpec):
            # team-tool lives only in the team's own channel
            @conda(libraries={{"team-tool": ""}}, channels=["{channel}"])
            @step
            def start(self):
                print(subprocess.run(["team-tool"], capture_output=True, text=True).stdout.strip())
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            ChannelsFlow()
    ''')
    flows["indices"] = flow(folder, "indices_flow", f'''
        from metaflow import FlowSpec, pypi, pypi_base, step

        @pypi_base(extra_indices=["{index_url}"])
        class IndicesFlow(FlowSpec):
            @pypi(packages={{"mfci-corpus-private": ">=1.0"}})
            @step
            def start(self):
                import mfci_corpus_private
                print("private", mfci_corpus_private.VERSION)
                self.next(self.end)

            # extras: options for the resolver; "pre" lets a pre-release in
            @pypi(packages={{"mfci-corpus-private": ">=1.0"}}, extras=["pre"])
            @step
            def end(self):
                import mfci_corpus_private
                print("private", mfci_corpus_private.VERSION)

        if __name__ == "__main__":
            IndicesFlow()
    ''')
    flows["conda_only"] = flow(folder, "conda_only_flow", '''
        from metaflow import FlowSpec, pypi, step
        import subprocess

        class CondaOnlyFlow(FlowSpec):
            # a PyPI environment that also needs a non-Python conda package (ffmpeg, say)
            @pypi(packages={"six": "1.16.0"}, conda_only={"native-tool": ""})
            @step
            def start(self):
                import six
                tool = subprocess.run(["native-tool"], capture_output=True, text=True).stdout.strip()
                print("six", six.__version__, "|", tool)
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            CondaOnlyFlow()
    ''')
    flows["sys_packages"] = flow(folder, "sys_packages_flow", '''
        from metaflow import FlowSpec, conda, step, sys_packages
        import subprocess

        class SysPackagesFlow(FlowSpec):
            # resolved for a CUDA machine although this step asks for no GPU
            @sys_packages(packages={"__cuda": "12.0"})
            @conda(libraries={"gpu-app": ""})
            @step
            def start(self):
                print(subprocess.run(["gpu-app"], capture_output=True, text=True).stdout.strip())
                self.next(self.end)

            @conda(libraries={"gpu-app": ""})
            @step
            def end(self):
                print(subprocess.run(["gpu-app"], capture_output=True, text=True).stdout.strip())

        if __name__ == "__main__":
            SysPackagesFlow()
    ''')
    flows["mixed"] = flow(folder, "mixed_flow", '''
        from metaflow import FlowSpec, conda, conda_base, pypi, step

        @conda_base(libraries={"six": "1.17.0"})
        class MixedFlow(FlowSpec):
            # conda packages from @conda_base, PyPI ones from the step: a mixed environment
            @pypi(packages={"pyyaml": "6.0.2"})
            @step
            def start(self):
                import six, yaml
                print("six", six.__version__, "yaml", yaml.__version__)
                self.next(self.end)

            # the deprecated way of saying the same
            @conda(pip_packages={"pyyaml": "6.0.2"})
            @step
            def end(self):
                import six, yaml
                print("six", six.__version__, "yaml", yaml.__version__)

        if __name__ == "__main__":
            MixedFlow()
    ''')
    flows["python_range"] = flow(folder, "python_range_flow", '''
        from metaflow import FlowSpec, conda, pypi, step
        import sys

        class PythonRangeFlow(FlowSpec):
            @pypi(python=">=3.10,<3.12", packages={"six": "1.16.0"})
            @step
            def start(self):
                print("python %d.%d" % sys.version_info[:2])
                self.next(self.end)

            @conda(python=">=3.11,<3.12", libraries={"native-tool": ""})
            @step
            def end(self):
                print("python %d.%d" % sys.version_info[:2])

        if __name__ == "__main__":
            PythonRangeFlow()
    ''')
    flows["pip"] = flow(folder, "pip_flow", '''
        from metaflow import FlowSpec, pip, pip_base, step

        @pip_base(packages={"six": "1.16.0"})
        class PipFlow(FlowSpec):
            @pip(packages={"six": "1.15.0"})
            @step
            def start(self):
                import six
                print("six", six.__version__)
                self.next(self.end)

            @step
            def end(self):
                import six
                print("six", six.__version__)

        if __name__ == "__main__":
            PipFlow()
    ''')
    flows["named"] = flow(folder, "named_flow", '''
        from metaflow import FlowSpec, named_env, pypi, step

        class NamedFlow(FlowSpec):
            @named_env(name="corpus/tools:v1")
            @step
            def start(self):
                import six
                print("six", six.__version__)
                self.next(self.end)

            # the deprecated way of saying the same
            @pypi(name="corpus/tools:v1")
            @step
            def end(self):
                import six
                print("six", six.__version__)

        if __name__ == "__main__":
            NamedFlow()
    ''')
    flows["fetch_at_exec"] = flow(folder, "fetch_at_exec_flow", '''
        import os, subprocess, sys
        from metaflow import FlowSpec, conda, current, named_env, step

        class FetchAtExecFlow(FlowSpec):
            # runs in the launcher's own python (with mfci): it publishes environments
            @conda(disabled=True)
            @step
            def start(self):
                def resolve(requirements, alias):
                    subprocess.run([sys.executable, "-m", "mfci", "resolve", "-r", requirements,
                                    "--arch", "linux-64", "--alias", alias], check=True)
                resolve(os.environ["CORPUS_V2"], "corpus/moving")        # latest moves to six 1.16.0
                resolve(os.environ["CORPUS_V2"], "corpus/run-%s" % current.run_id)
                self.next(self.moved)

            @named_env(name="corpus/moving", fetch_at_exec=True)
            @step
            def moved(self):
                import six
                print("moved six", six.__version__)
                self.next(self.end)

            @named_env(name="corpus/run-@{METAFLOW_RUN_ID}", fetch_at_exec=True)
            @step
            def end(self):
                import six
                print("run six", six.__version__)

        if __name__ == "__main__":
            FetchAtExecFlow()
    ''')
    return flows


def pathspec_flow(folder: Path, pathspec: str) -> Path:
    return flow(folder, "pathspec_flow", f'''
        from metaflow import FlowSpec, named_env, step
        import subprocess

        class PathspecFlow(FlowSpec):
            # the very environment a step of an earlier run ran in
            @named_env(pathspec="{pathspec}")
            @step
            def start(self):
                import six
                tool = subprocess.run(["native-tool"], capture_output=True, text=True).stdout.strip()
                print("six", six.__version__, "|", tool)
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            PathspecFlow()
    ''')
