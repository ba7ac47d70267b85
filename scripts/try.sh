#!/usr/bin/env bash
# Install, write the example (synthetic fluorescence image + its PSF) and super-resolve it with the PSF as kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/python -m napari_zssr.sample example
.venv/bin/napari-zssr example/cells.tif --psf example/psf.tif --out results --preset fast "$@"
ls -l results
