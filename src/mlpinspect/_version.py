"""The single source of mlpinspect's version."""

__version__ = "0.1.0.dev0"
