#!/usr/bin/env python3
"""Stands in for micromamba, which cannot be installed here: answers `create --dry-run
--json` the way micromamba 1.x does (actions.LINK with url, md5, sha256), solving with
rattler, and records the command line and CONDA_* variables it was given."""

import asyncio
import json
import os
import sys

import rattler

args = sys.argv[1:]
channels = [args[i + 1] for i, a in enumerate(args) if a == "-c"]
specs = [a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1] not in ("-c", "--prefix") and a != "create"]
arch = os.environ["CONDA_SUBDIR"]
virtual = [rattler.GenericVirtualPackage(rattler.PackageName(name), rattler.Version(os.environ[variable]),
                                         rattler.BuildString("0"))
           for name, variable in (("__glibc", "CONDA_OVERRIDE_GLIBC"), ("__osx", "CONDA_OVERRIDE_OSX"),
                                  ("__cuda", "CONDA_OVERRIDE_CUDA"))
           if os.environ.get(variable)]
with open(os.environ["FAKE_MICROMAMBA_LOG"], "w") as log:
    json.dump({"args": args, "env": {k: v for k, v in os.environ.items() if k.startswith("CONDA_")}}, log)
records = asyncio.run(rattler.solve(sources=channels, specs=specs, platforms=[arch, "noarch"], virtual_packages=virtual))
link = [{"url": str(r.url), "fn": r.file_name, "name": r.name.normalized, "version": str(r.version),
         "md5": r.md5.hex(), "sha256": r.sha256.hex()} for r in records]
print(json.dumps({"success": True, "actions": {"LINK": link, "PREFIX": "x"}}))
sys.stdout.flush()
os._exit(0)
