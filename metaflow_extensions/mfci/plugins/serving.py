"""Which extension serves Metaflow's conda/pypi environments when metaflow-netflixext (the
seed) is installed too: CONDA_MFCI_SERVES, `mfci` (default) or `netflixext`. The other one
stays out of the way; the launching process says which one serves.

Decided once, at `import metaflow`, from Metaflow's configuration (mfci's config extension
declares the setting): import-light and failure-proof, as a plugin module must be."""

import importlib.util

MFCI, SEED = "mfci", "netflixext"


def seed_installed() -> bool:
    try:
        return importlib.util.find_spec("metaflow_extensions.netflixext") is not None
    except (ImportError, ValueError):
        return False


def serving() -> str:
    try:
        from metaflow.metaflow_config import CONDA_MFCI_SERVES as chosen
    except ImportError:
        chosen = None
    return SEED if seed_installed() and str(chosen or "").strip() == SEED else MFCI


def notice(who: str) -> str:
    other = SEED if who == MFCI else MFCI
    return (f"[mfci] metaflow-netflixext is installed too: {who} serves --environment=conda/pypi "
            f"(METAFLOW_CONDA_MFCI_SERVES={other} to switch)")
