#!/usr/bin/env python3
"""tests/relay-sink.py: the old name of the fake smarthost, kept while
tests that run it move to tests/lib/smarthost.py.

  relay-sink.py PORT CERT KEY DIR
"""
import os
import sys

port, cert, key, outdir = sys.argv[1:5]
os.execv(sys.executable, [sys.executable, os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "lib", "smarthost.py"), "--port", port,
    "--cert", cert, "--key", key, "--dir", outdir])
