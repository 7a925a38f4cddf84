"""``python -m hubench`` runs the command line."""

import sys

from hubench.cli import main

sys.exit(main())
