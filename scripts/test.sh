#!/usr/bin/env bash
# Install everything (see install.sh) and run the whole test suite headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
