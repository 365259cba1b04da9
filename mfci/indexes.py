"""Which PyPI indexes mfci resolves against and downloads from, read once from the
places users configure them, so that resolution and downloads always agree.

In order, the first that names an index wins:
1. METAFLOW_CONDA_DEFAULT_PYPI_SOURCE (the seed's setting; extra indexes still come
   from the tools below);
2. uv's own configuration: UV_DEFAULT_INDEX / UV_INDEX_URL, UV_INDEX / UV_EXTRA_INDEX_URL,
   UV_FIND_LINKS, then `uv.toml` / `[tool.uv]` (project, user, system; UV_CONFIG_FILE);
   uv's index strategy (the first index that has a package serves it);
3. pip's: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, then pip.conf (PIP_CONFIG_FILE,
   /etc/xdg/pip, /etc, ~/.pip, ~/.config/pip, the virtual environment); pip's strategy
   (the best version across every index);
4. else public PyPI.
A private index configured anywhere above replaces PyPI: nothing falls back to it.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class IndexConfig:
    default: str                      # as configured, credentials included
    extra: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    best_match: bool = False          # pip's strategy: every index offers every package
    no_index: bool = False
    keyring: str | None = None        # "subprocess": ask the `keyring` command, as uv does
    origin: str = "default"           # where the configuration came from, for messages
    prerelease: bool = False          # an environment file's --pre
    insecure_hosts: tuple[str, ...] = ()  # an environment file's --trusted-host

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.default, *self.extra)

    def with_file(self, options) -> "IndexConfig":
        """This configuration under an environment file's own options (spec.PypiOptions,
        as written): its index replaces the default, its extra indexes and find-links come
        first, as pip reads a requirements file's options over its configuration."""
        extra = tuple(dict.fromkeys([*options.extra_index_urls, *self.extra]))
        default = options.index_url or self.default
        return replace(self, default=default, extra=tuple(u for u in extra if u != default),
                       find_links=tuple(dict.fromkeys([*options.find_links, *self.find_links])),
                       no_index=self.no_index or options.no_index, prerelease=self.prerelease or options.pre,
                       insecure_hosts=tuple(dict.fromkeys([*self.insecure_hosts, *options.trusted_hosts])))

    def uv_environment(self, authenticate: Callable[[str], str] = str) -> dict[str, str]:
        """The variables that give uv exactly these indexes (credentials stay out of argv);
        `authenticate` writes each index's credentials into its URL."""
        env = {"UV_DEFAULT_INDEX": authenticate(self.default)}
        if self.extra:
            env["UV_INDEX"] = " ".join(map(authenticate, self.extra))
        if self.find_links:
            env["UV_FIND_LINKS"] = " ".join(map(authenticate, self.find_links))
        if self.best_match:
            env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
        if self.no_index:
            env["UV_NO_INDEX"] = "1"
        if self.keyring:
            env["UV_KEYRING_PROVIDER"] = self.keyring
        if self.prerelease:
            env["UV_PRERELEASE"] = "allow"
        if self.insecure_hosts:
            env["UV_INSECURE_HOST"] = " ".join(self.insecure_hosts)
        return env

    def pip_environment(self, authenticate: Callable[[str], str] = str) -> dict[str, str]:
        """The variables that give pip exactly these indexes, and no configuration file."""
        env = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": authenticate(self.default)}
        if self.extra:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(map(authenticate, self.extra))
        if self.find_links:
            env["PIP_FIND_LINKS"] = " ".join(map(authenticate, self.find_links))
        if self.no_index:
            env["PIP_NO_INDEX"] = "1"
        if self.prerelease:
            env["PIP_PRE"] = "1"
        if self.insecure_hosts:
            env["PIP_TRUSTED_HOST"] = " ".join(self.insecure_hosts)
        return env


# Variables through which uv or pip would pick indexes on their own: mfci removes them
# from the tools' environment and passes its own choice instead.
TOOL_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
                        "UV_INDEX_STRATEGY", "UV_NO_INDEX", "UV_KEYRING_PROVIDER", "UV_PRERELEASE",
                        "UV_INSECURE_HOST", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
                        "PIP_NO_INDEX", "PIP_KEYRING_PROVIDER", "PIP_PRE", "PIP_TRUSTED_HOST")


def _split(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split()
    return [str(item).strip() for item in items if str(item).strip()]


def _local_link(value: str, base: Path) -> str:
    """find-links and file indexes may be plain paths; uv and downloads want URLs."""
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).absolute().as_uri()


def _uv_files(environ: dict, cwd: Path) -> list[Path]:
    if _flag(environ.get("UV_NO_CONFIG", "")):
        return []
    if environ.get("UV_CONFIG_FILE"):
        return [Path(environ["UV_CONFIG_FILE"])]
    found: list[Path] = []
    for folder in (cwd, *cwd.parents):
        if (folder / "uv.toml").is_file():
            found.append(folder / "uv.toml")
            break
        if (folder / "pyproject.toml").is_file() and "[tool.uv" in _read(folder / "pyproject.toml"):
            found.append(folder / "pyproject.toml")
            break
    home = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".config")
    found += [home / "uv" / "uv.toml", Path("/etc/uv/uv.toml")]
    return [path for path in found if path.is_file()]


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _uv_settings(environ: dict, cwd: Path) -> dict:
    """uv's index settings: variables first, then the nearest file of each level."""
    settings: dict = {}
    try:
        import tomllib
    except ImportError:  # python < 3.11 (a remote worker's): uv's files are CI's business
        return settings
    for path in reversed(_uv_files(environ, cwd)):  # system, user, project: later wins
        try:
            data = tomllib.loads(_read(path))
        except tomllib.TOMLDecodeError:
            continue
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("uv", {})
        for table in (data, data.get("pip", {})):
            for key in ("index-url", "extra-index-url", "find-links", "keyring-provider", "no-index",
                        "index-strategy"):
                if key in table:
                    settings[key] = table[key]
        for index in data.get("index", []):
            if isinstance(index, dict) and index.get("url") and not index.get("explicit"):
                key = "index-url" if index.get("default") else "extra-index-url"
                settings[key] = ([index["url"]] if key == "index-url"
                                 else [*_split(settings.get(key)), index["url"]])
        settings["origin"] = str(path)
    variables = {"UV_DEFAULT_INDEX": "index-url", "UV_INDEX_URL": "index-url", "UV_INDEX": "extra-index-url",
                 "UV_EXTRA_INDEX_URL": "extra-index-url", "UV_FIND_LINKS": "find-links",
                 "UV_KEYRING_PROVIDER": "keyring-provider", "UV_NO_INDEX": "no-index",
                 "UV_INDEX_STRATEGY": "index-strategy"}
    for variable, key in variables.items():
        if environ.get(variable):
            value = environ[variable]
            if variable == "UV_INDEX":  # "name=url" entries
                value = " ".join(item.split("=", 1)[-1] for item in value.split())
            settings[key] = value
            settings["origin"] = variable
    return settings


def _pip_files(environ: dict) -> list[Path]:
    if environ.get("PIP_CONFIG_FILE"):
        return [] if environ["PIP_CONFIG_FILE"] == os.devnull else [Path(environ["PIP_CONFIG_FILE"])]
    home = Path(environ.get("HOME", "~")).expanduser()
    xdg_dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs] + [Path("/etc/pip.conf"), home / ".pip" / "pip.conf",
                                                              config_home / "pip" / "pip.conf"]
    if environ.get("VIRTUAL_ENV"):
        files.append(Path(environ["VIRTUAL_ENV"]) / "pip.conf")
    return files


def _pip_settings(environ: dict) -> dict:
    settings: dict = {}
    for path in _pip_files(environ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in ("index-url", "extra-index-url", "find-links", "no-index", "keyring-provider"):
                    if parser.has_option(section, key):
                        settings[key] = parser.get(section, key)
                        settings["origin"] = str(path)
    for key in ("index-url", "extra-index-url", "find-links", "no-index", "keyring-provider"):
        variable = "PIP_" + key.upper().replace("-", "_")
        if environ.get(variable):
            settings[key] = environ[variable]
            settings["origin"] = variable
    return settings


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def index_config(environ: dict, cwd: Path, default_source: str | None) -> IndexConfig:
    uv, pip = _uv_settings(environ, cwd), _pip_settings(environ)
    chosen, best_match = (uv, uv.get("index-strategy") == "unsafe-best-match") if uv else (pip, bool(pip))
    default = default_source or (_split(chosen.get("index-url")) or [PYPI])[0]
    origin = "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE" if default_source else chosen.get("origin", "default")
    base = cwd
    extra = tuple(dict.fromkeys(_local_link(u, base) for u in _split(chosen.get("extra-index-url"))))
    links = tuple(dict.fromkeys(_local_link(u, base) for u in _split(chosen.get("find-links"))))
    keyring = str(chosen.get("keyring-provider") or "") or None
    return IndexConfig(
        default=_local_link(default, base),
        extra=tuple(url for url in extra if url != default),
        find_links=links,
        best_match=best_match and bool(extra or links),
        no_index=_flag(chosen.get("no-index", False)),
        keyring=keyring if keyring and keyring != "disabled" else None,
        origin=origin,
    )
