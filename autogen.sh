#!/bin/sh
# Regenerate the build system: autoreconf -fi.
set -e
cd "$(dirname "$0")"
autoreconf -fi
