#!/usr/bin/env bash
# Install napari-zssr with its test/GUI extras into ./.venv on a fresh machine (Python 3.11 + pip).
# torch is installed first, pinned, so that pip keeps that build (the one the index offers: PIP_EXTRA_INDEX_URL=
# https://download.pytorch.org/whl/cpu gives the CPU-only build) instead of resolving its own with the package.
set -euo pipefail
cd "$(dirname "$0")/.."
# The napari viewer needs an X server even in tests (Xvfb) and Qt's xcb platform needs these libraries
# (libxcb-cursor0: Qt 6.5 and later).
X_PACKAGES="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-render-util0 \
  libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-xfixes0 libxcb-cursor0 libxkbcommon-x11-0 libfontconfig1 \
  libdbus-1-3 libgl1 libegl1"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=$(for p in $X_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0 2> >(grep -v "is ignored" >&2)
.venv/bin/pip install -q -e ".[dev]" 2> >(grep -v "is ignored" >&2)
