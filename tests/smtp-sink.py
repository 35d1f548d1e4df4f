#!/usr/bin/env python3
"""tests/smtp-sink.py: the old name of the fake smarthost, kept while
tests that run it move to tests/lib/smarthost.py.

Usage: smtp-sink.py PORT CERT KEY OUTDIR [--user U --password P] [--no-starttls]
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("port")
ap.add_argument("cert")
ap.add_argument("key")
ap.add_argument("outdir")
ap.add_argument("--user")
ap.add_argument("--password")
ap.add_argument("--no-starttls", action="store_true")
a = ap.parse_args()
argv = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "lib", "smarthost.py"), "--port", a.port, "--cert", a.cert,
    "--key", a.key, "--dir", a.outdir]
if a.user is not None:
    argv += ["--auth", "%s:%s" % (a.user, a.password)]
if a.no_starttls:
    argv.append("--no-starttls")
os.execv(sys.executable, argv)
