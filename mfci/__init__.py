"""mfci: Metaflow environments resolved in CI, cached in your store, created without solving."""

__version__ = "0.1.0"
