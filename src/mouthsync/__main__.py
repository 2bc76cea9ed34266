"""``python -m mouthsync`` runs the command line."""

import sys

from mouthsync.entry import main

sys.exit(main())
