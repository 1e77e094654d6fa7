"""The package version (base layer: read by the posterior cache key and the reports)."""

__version__ = "0.1.0"
