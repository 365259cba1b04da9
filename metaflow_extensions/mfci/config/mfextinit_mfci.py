# Declaring mfci's settings through Metaflow's from_conf makes Metaflow forward any
# non-default value to remote tasks (it forwards every METAFLOW_CONDA_* it knows).
# Metaflow's own settings (METAFLOW_USER, the datastore roots…) are Metaflow's to declare,
# and so are the seed's when metaflow-netflixext is installed: its declarations (and its
# defaults, which its own code relies on) stand; mfci reads the same variables itself.
# Kept import-light and failure-proof: an error here would break `import metaflow`.
import importlib

from metaflow.metaflow_config_funcs import from_conf

try:
    from mfci.config import HONOURED, METAFLOW, OPTIONS
except Exception:  # mfci itself not importable: the extension stays inert
    OPTIONS, HONOURED, METAFLOW = (), None, None

try:
    _seed_names = set(vars(importlib.import_module("metaflow_extensions.netflixext.config.mfextinit_netflixext")))
except Exception:  # the seed is not installed (or broken: then it is not ours to declare either)
    _seed_names = set()

globals().update({option.name: from_conf(option.name) for option in OPTIONS
                  if option.status == HONOURED and option.group != METAFLOW and option.name not in _seed_names})
del _seed_names, importlib
