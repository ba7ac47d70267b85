#!/usr/bin/env bash
# Install napari-zssr with its test/GUI extras into ./.venv on a fresh machine (Python 3.11 + pip).
# torch is pinned first: an unpinned torch requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v Xvfb >/dev/null; then
  # The napari viewer needs an X server even in tests (Xvfb); the xcb libraries let Qt open a real window on it.
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 \
    libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0 libgl1 libegl1 >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0 2> >(grep -v "is ignored" >&2)
.venv/bin/pip install -q -e ".[dev]" 2> >(grep -v "is ignored" >&2)
