"""Named environments: `name[:tag]` → one spec's environment per arch.

Tags `latest`, `candidate` and `stable` move (compare-and-swap); any other tag is set
once and never changes. Stored at envs/aliases/<name>/<tag>.json; a lookup by alias is
two reads (the alias, then the record)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError, WorkError
from .layout import Layout
from .objects import AliasTarget, EnvRef, now
from .publish import update_object
from .store.base import Store

MOVABLE_TAGS = ("latest", "candidate", "stable")
NAME = re.compile(r"[a-z0-9_\-]+(/[a-z0-9_\-]+)*")
TAG = re.compile(r"[a-z0-9_\-.]+")


@dataclass(frozen=True)
class Alias:
    name: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> "Alias":
        name, _, tag = text.strip().partition(":")
        tag = tag or "latest"
        if not NAME.fullmatch(name) or not TAG.fullmatch(tag) or tag.startswith("."):
            raise UsageError(f"alias {text!r}: expected NAME[:TAG] (lowercase letters, digits, - _ ; "
                             "NAME may have / sections)")
        return cls(name, tag)

    @property
    def movable(self) -> bool:
        return self.tag in MOVABLE_TAGS

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"

    def key(self, layout: Layout) -> str:
        return layout.alias(self.name, self.tag)


def publish_alias(store: Store, layout: Layout, alias: Alias, envs: dict[str, EnvRef], user: str) -> AliasTarget:
    """Point the alias at an environment per arch, every given arch in one compare-and-swap;
    the archs it already names and that are not given keep theirs. An immutable tag takes
    new archs but never changes one it has."""

    def change(old: AliasTarget | None) -> AliasTarget | None:
        current = dict(old.envs) if old else {}
        if old is not None and not alias.movable:
            moved = sorted(arch for arch, ref in envs.items() if arch in current and current[arch] != ref)
            if moved:
                arch = moved[0]
                raise WorkError(f"alias {alias} is immutable and already points to environment "
                                f"{current[arch].env_id[:12]} on {arch}; publish a new tag (or use "
                                "latest/candidate/stable, which move)")
        merged = {**current, **envs}
        if old is not None and merged == current:
            return None  # already set to exactly this: nothing to do
        return AliasTarget(str(alias), merged, user, now())

    return update_object(store, alias.key(layout), AliasTarget.from_json, change)
