# tests/imapd_util.py: the old name of the harness, kept while tests that
# import it are moved to tests/lib/gbtest (import gbtest instead).
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

from gbtest import *  # noqa: E402,F401,F403
from gbtest import (BUILDDIR, DATA, PASSWORD, SRCDIR, Checker,  # noqa: E402,F401
                    GuestboxServer, RawClient, Skip, TestFailure, corpus,
                    free_port, maildir_snapshot, message, need, run_main,
                    snapshot)
