#!/bin/sh
# Generates configure and Makefile.in; they are not kept in git.
set -e
cd "$(dirname "$0")"
autoreconf -fi
