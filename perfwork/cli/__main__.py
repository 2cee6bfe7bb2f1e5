"""``python -m perfwork.cli``: the same as the ``perfwork`` command."""

import sys

from . import main

sys.exit(main())
