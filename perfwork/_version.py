"""The version of perfwork (read by the build and by the run record)."""

__version__ = "0.1.0"
