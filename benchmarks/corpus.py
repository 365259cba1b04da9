"""The benchmark's repository: many flows sharing a handful of small, distinct PyPI environments.

Every flow has a `start` step with one of the declared environments and an `end` step with
Metaflow's default one (python and its pins), as real repositories do. Packages are small so a
cold run fits in minutes on a CI machine; `requests` (Metaflow's pin) brings a native wheel
(charset-normalizer) that differs per arch.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

# Small pure-Python or tiny native packages, pinned so every run resolves the same thing.
ENVIRONMENTS: tuple[dict[str, str], ...] = (
    {"six": "1.16.0"},
    {"python-dateutil": "2.9.0.post0"},
    {"attrs": "23.2.0"},
    {"packaging": "24.1", "tomli": "2.0.1"},
    {"idna": "3.7", "typing-extensions": "4.12.2"},
    {"markupsafe": "2.1.5"},
    {"click": "8.1.7"},
    {"pyyaml": "6.0.1"},
    {"six": "1.15.0", "attrs": "22.2.0"},
    {"wrapt": "1.16.0"},
)


def flow_source(index: int, packages: dict[str, str]) -> str:
    name = f"Bench{index}Flow"
    return textwrap.dedent(f"""\
        from metaflow import FlowSpec, pypi, step


        class {name}(FlowSpec):
            @pypi(packages={packages!r})
            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass


        if __name__ == "__main__":
            {name}()
        """)


def build(folder: Path, flows: int, distinct: int) -> Path:
    """`flows` flow files under folder (ten per subfolder) cycling over `distinct` environments."""
    if not 1 <= distinct <= len(ENVIRONMENTS):
        raise ValueError(f"distinct environments must be 1..{len(ENVIRONMENTS)}")
    for index in range(flows):
        path = folder / f"team{index // 10}" / f"bench_{index}_flow.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(flow_source(index, ENVIRONMENTS[index % distinct]))
    return folder


def distinct_requirements(distinct: int) -> list[list[str]]:
    """What each distinct environment asks for, with Metaflow's pin (as the seed's resolver sees it);
    the default environment of the `end` steps is the last one."""
    metaflow_pin = "requests>=2.21.0"
    envs = [[f"{name}=={version}" for name, version in sorted(packages.items())] + [metaflow_pin]
            for packages in ENVIRONMENTS[:distinct]]
    return envs + [[metaflow_pin]]
