__mf_extensions__ = "mfci"

try:
    from importlib.metadata import version as _version

    __version__ = _version("mfci")
except Exception:
    __version__ = "unknown"
