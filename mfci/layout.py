"""Where each kind of object lives in a store (stdlib-only: remote workers import it).

    <packages>/pypi/<host>/<path>                    package files, create-only
    <packages>/builds/<sdist sha256>/<python>-<platform>.json   the wheel built from a source distribution
    <envs>/<spec_id>/<arch>/<env_id>.json            environment records, create-only
    <envs>/<spec_id>/<arch>/latest.json              pointer: the latest published
    <envs>/<spec_id>/<arch>/users/<user>.json        pointer: the latest a user published
    <envs>/aliases/<name>/<tag>.json                 named environment: spec and env per arch
    <installers>/<tool>-<arch>.json                  pointer to a tool's wheel (uv, py-rattler) for an arch
    manifests/<repository>.json                      what warms of a repository covered
    shard-manifests/<repository>/<ref>/<i>-of-<n>.json   what shard i of n covered at a commit
"""

from __future__ import annotations

from dataclasses import dataclass

from .urls import safe_relative_path


@dataclass(frozen=True)
class Layout:
    packages: str = "packages"
    envs: str = "envs"
    installers: str = "remote-installers"

    def package(self, relative: str) -> str:
        return safe_relative_path(f"{self.packages}/{relative}")

    def build(self, sdist_sha256: str, python: str, platform: str) -> str:
        """The wheel built from a source distribution (by its sha256) for a python (cp311)
        on a platform (this machine's tag): content-addressed, create-only."""
        return safe_relative_path(f"{self.packages}/builds/{sdist_sha256}/{python}-{platform}.json")

    @property
    def builds(self) -> str:
        return f"{self.packages}/builds"

    def record(self, spec_id: str, arch: str, env_id: str) -> str:
        return safe_relative_path(f"{self.envs}/{spec_id}/{arch}/{env_id}.json")

    def latest(self, spec_id: str, arch: str) -> str:
        return safe_relative_path(f"{self.envs}/{spec_id}/{arch}/latest.json")

    def user_pointer(self, spec_id: str, arch: str, user: str) -> str:
        return safe_relative_path(f"{self.envs}/{spec_id}/{arch}/users/{user}.json")

    def alias(self, name: str, tag: str) -> str:
        return safe_relative_path(f"{self.envs}/aliases/{name}/{tag}.json")

    def installer(self, tool: str, arch: str) -> str:
        return safe_relative_path(f"{self.installers}/{tool}-{arch}.json")

    def manifest(self, repository: str) -> str:
        return safe_relative_path(f"manifests/{repository}.json")

    def manifest_part(self, repository: str, ref: str, index: int, count: int) -> str:
        return safe_relative_path(f"{self.manifest_parts(repository, ref)}/{index}-of-{count}.json")

    def manifest_parts(self, repository: str, ref: str) -> str:
        return safe_relative_path(f"shard-manifests/{repository}/{ref}")

    manifests = "manifests"
