"""The single source of mlpinspect's version."""

__version__ = "0.2.0.dev0"
