"""``python -m mouthsync`` runs the command line."""

import sys

from mouthsync.cli import main

sys.exit(main())
