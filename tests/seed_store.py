"""A store in metaflow-netflixext's layout, written by the tests from what the seed's
source says it writes (its solver is never run):

- `Conda.get_datastore_path_to_env`: <envs>/<arch>/<req_id>/<full_id>/env
- `ResolvedEnvironment.to_dict`: deps/sources/extras as "category::value", packages with
  `_type`, `filename` (no extension), `url`, `url_format`, `hashes` and `cache_info`,
  `resolved_on`, `resolved_by`, `resolved_archs`, `env_type`
- `CachePackage.make_cache_url`: packages/<type>/<host>/<path>/<file>/<file>/<hash>/<file>,
  the hash an md5 for conda files and a sha256 for wheels
- `Conda.alias_environment`: <envs>/aliases/generic/<name>/<tag> holding [req_id, full_id]
- req_id and full_id: sha1 of the space-joined category::value strings (`_compute_hash`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def _sha1(parts) -> str:
    return hashlib.sha1(b" ".join(p.encode("ascii") for p in parts)).hexdigest()


@dataclass
class SeedFile:
    path: Path       # the file itself
    kind: str        # "conda" or "pypi"
    url: str         # where the seed says it came from

    @property
    def suffix(self) -> str:
        return ".tar.bz2" if self.path.name.endswith(".tar.bz2") else self.path.suffix

    @property
    def stem(self) -> str:
        return self.path.name[: -len(self.suffix)]

    def digest(self) -> str:
        data = self.path.read_bytes()
        return (hashlib.md5 if self.kind == "conda" else hashlib.sha256)(data).hexdigest()


class SeedStore:
    def __init__(self, root: Path):
        self.root = root

    def cache(self, file: SeedFile) -> dict:
        """Store one package the way the seed's cache_environments does; its to_dict entry."""
        parts = urlsplit(file.url)
        digest = file.digest()
        key = f"packages/{file.kind}/{parts.netloc}{parts.path}/{file.path.name}/{digest}/{file.path.name}"
        (self.root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.path, self.root / key)
        return {"_type": file.kind, "filename": file.stem, "url": file.url, "url_format": file.suffix,
                "hashes": {file.suffix: digest}, "cache_info": {file.suffix: {"_type": file.kind, "url": key}}}

    def env(self, arch: str, deps: dict[str, list[str]], sources: dict[str, list[str]], files: list[SeedFile],
            resolved_on: str, resolved_by: str = "seeduser", env_type: str = "pypi-only") -> tuple[str, str]:
        """One resolved environment; returns its (req_id, full_id)."""
        req_id = _sha1([f"{c}::{v}" for c in sorted(deps) for v in sorted(deps[c])] +
                       [f"{c}::{v}" for c in sorted(sources) for v in sorted(sources[c])])
        packages = [self.cache(file) for file in files]
        full_id = _sha1([f"{p['filename']}#{p['hashes'][p['url_format']]}" for p in sorted(packages, key=lambda p: p["filename"])]
                        + [arch])
        data = {"deps": [f"{c}::{v}" for c in sorted(deps) for v in sorted(deps[c])],
                "sources": [f"{c}::{v}" for c in sorted(sources) for v in sources[c]], "extras": [],
                "packages": packages, "resolved_on": resolved_on, "resolved_by": resolved_by,
                "resolved_archs": [arch], "env_type": env_type, "accurate_source": True, "full_id_unique_keys": {}}
        path = self.root / "envs" / arch / req_id / full_id / "env"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        return req_id, full_id

    def alias(self, name: str, tag: str, req_id: str, full_id: str) -> None:
        path = self.root / "envs" / "aliases" / "generic" / name / tag
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([req_id, full_id]))
