# Declaring mfci's settings through Metaflow's from_conf makes Metaflow forward any
# non-default value to remote tasks (it forwards every METAFLOW_CONDA_* it knows).
# Metaflow's own settings (METAFLOW_USER, the datastore roots…) are Metaflow's to declare.
# Kept import-light and failure-proof: an error here would break `import metaflow`.
from metaflow.metaflow_config_funcs import from_conf

try:
    from mfci.config import HONOURED, METAFLOW, OPTIONS
except Exception:  # mfci itself not importable: the extension stays inert
    OPTIONS, HONOURED, METAFLOW = (), None, None

for _option in OPTIONS:
    if _option.status == HONOURED and _option.group != METAFLOW:
        globals()[_option.name] = from_conf(_option.name)
del _option
