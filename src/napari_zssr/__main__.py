"""``python -m napari_zssr`` runs the batch command line."""

import sys

from .cli import main

sys.exit(main())
