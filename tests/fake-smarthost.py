#!/usr/bin/env python3
"""tests/fake-smarthost.py: the old name of the fake smarthost, kept while
tests that run it move to tests/lib/smarthost.py (same options; this name
adds --envelope-headers, the X-Fake-* lines it always wrote)."""
import os
import sys

os.execv(sys.executable, [sys.executable, os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "lib", "smarthost.py"),
    "--envelope-headers"] + sys.argv[1:])
