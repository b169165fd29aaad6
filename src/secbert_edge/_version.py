"""The package version, in a module that imports nothing (export, bench and the CLI read it)."""

__version__ = "0.2.0"
