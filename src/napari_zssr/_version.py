"""The package version, in one place: setuptools reads it at build time (pyproject ``dynamic = ["version"]``)."""

__version__ = "0.1.0"
