"""conda's own configuration: the channels and channel alias a conda user set in
`.condarc`, read from the places conda reads it, in conda's order (a later file's
channels come first; a later file's scalar wins), plus conda's CONDA_CHANNEL_ALIAS.

A channel name (`conda-forge`) becomes `<channel_alias>/<name>` (conda's default alias:
https://conda.anaconda.org), `defaults` becomes `default_channels` (else Anaconda's
main and r). Names, not URLs, are what enter spec ids: the alias is a machine's mirror
choice, as a pip.conf index is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")


def condarc_files(environ: Mapping[str, str]) -> list[Path]:
    """conda's search path for configuration, lowest priority first (conda's documentation,
    "Searching for .condarc"); each place may be a file or a condarc.d folder of *.yml."""
    home = Path(environ.get("HOME", "~")).expanduser()
    roots = [Path("/etc/conda"), Path("/var/lib/conda")]
    if environ.get("CONDA_ROOT"):
        roots.append(Path(environ["CONDA_ROOT"]))
    if environ.get("XDG_CONFIG_HOME"):
        roots.append(Path(environ["XDG_CONFIG_HOME"]) / "conda")
    roots += [home / ".config" / "conda", home / ".conda"]
    places: list[Path] = []
    for root in roots:
        places += [root / ".condarc", root / "condarc", root / "condarc.d"]
    places.append(home / ".condarc")
    if environ.get("CONDA_PREFIX"):
        root = Path(environ["CONDA_PREFIX"])
        places += [root / ".condarc", root / "condarc", root / "condarc.d"]
    if environ.get("CONDARC"):
        places.append(Path(environ["CONDARC"]))
    files: list[Path] = []
    for place in places:
        if place.is_dir():
            files += sorted(p for p in place.iterdir() if p.suffix in (".yml", ".yaml"))
        elif place.is_file():
            files.append(place)
    return files


@dataclass(frozen=True)
class CondaConfig:
    channels: tuple[str, ...] = ()
    channel_alias: str = DEFAULT_ALIAS
    default_channels: tuple[str, ...] = DEFAULT_CHANNELS
    origin: str = ""          # the files it came from, for messages

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> "CondaConfig":
        files = condarc_files(environ)
        try:
            import yaml
        except ImportError:  # a remote worker (stdlib only) never resolves: conda's configuration is moot there
            files = []
        channels: list[str] = []
        alias, defaults, origins = None, None, []
        for path in files:
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError) as error:
                from .errors import UsageError

                raise UsageError(f"{path}: cannot read conda's configuration ({' '.join(str(error).split())})") from None
            if not isinstance(data, dict):
                continue
            if isinstance(data.get("channels"), list):
                given = [str(c) for c in data["channels"]]
                channels = list(dict.fromkeys([*given, *channels]))  # conda: the later file's come first
            if data.get("channel_alias"):
                alias = str(data["channel_alias"])
            if isinstance(data.get("default_channels"), list):
                defaults = tuple(str(c) for c in data["default_channels"])
            origins.append(str(path))
        alias = environ.get("CONDA_CHANNEL_ALIAS") or alias or DEFAULT_ALIAS
        return cls(tuple(channels), alias.rstrip("/"), defaults or DEFAULT_CHANNELS, ", ".join(origins))

    def urls(self, channel: str) -> tuple[str, ...]:
        """Where a channel lives: a URL or a local path as given, `defaults` as the
        default channels, a name under the channel alias."""
        if channel == "defaults":
            return tuple(u for c in self.default_channels for u in self.urls(c))
        if "://" in channel or channel.startswith("/"):
            return (channel,)
        return (f"{self.channel_alias}/{channel}",)
