"""``python -m napari_zssr`` runs the batch command line."""

from .cli import run_as_process

run_as_process()
