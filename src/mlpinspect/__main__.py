"""``python -m mlpinspect``: the command line (see :mod:`mlpinspect.cli`)."""

import sys

from .cli import main

sys.exit(main())
