"""``python -m explorer.cli``: the same as the ``lcexplorer`` console script."""

import sys

from explorer.cli import main

sys.exit(main())
