"""The version of backpath (its own module, so that any part can name it without importing the package's API)."""

__version__ = "0.1.0"
