#!/bin/sh
# bench-app.sh: run bench-app (the viewer app's figures) on a private Xvfb display.
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   bench/bench-app.sh [BUILDDIR] [startup [RUNS] | load [STREAMS [SECONDS]]]
#
# Builds BUILDDIR (default _build), starts Xvfb on a free display number with a 1280×800
# screen, runs BUILDDIR/bench/bench-app with the remaining arguments and stops Xvfb.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-_build}
[ $# -gt 0 ] && shift
case "$build" in /*) ;; *) build="$top/$build" ;; esac
[ -d "$build" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" bench/bench-app src/app/tether src/server/tether-server src/cli/tether-cli >/dev/null

display=99
while [ -e "/tmp/.X$display-lock" ] || [ -e "/tmp/.X11-unix/X$display" ]; do
  display=$((display + 1))
done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -e "/tmp/.X11-unix/X$display" ] && break
  sleep 0.2
done
DISPLAY=":$display" "$build/bench/bench-app" "$@"
