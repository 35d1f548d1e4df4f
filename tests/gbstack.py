# tests/gbstack.py: the old name of the harness's Stack, kept while tests
# that import it are moved to tests/lib/gbtest (import gbtest instead).
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))

from gbtest import (BUILDDIR, DAEMONS, EX_TEMPFAIL, PASSWORD,  # noqa: E402,F401
                    RECOVERY_EXIT, SRCDIR, GuestboxServer, Stack,
                    TestFailure, free_port, quiet_port)
