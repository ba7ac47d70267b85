"""``python -m napari_zssr`` runs the batch command line."""

from .cli import entry

entry()
