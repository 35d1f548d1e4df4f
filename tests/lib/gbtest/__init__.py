# tests/lib/gbtest: guestbox's one test harness.  It picks the ports,
# makes the certificates and OpenPGP keys, writes guestbox.conf, creates
# and activates mailboxes, and starts and stops the daemons, for the
# Python tests (import it with tests/lib on sys.path) and, through
# `python3 -m gbtest` (__main__.py), for the bash tests
# (tests/lib/harness.sh).

import sys

sys.dont_write_bytecode = True

from .env import (BUILDDIR, DATA, PASSWORD, SRCDIR, Checker, Skip,  # noqa: E402,F401
                  TestFailure, corpus, message, need, run_main,
                  sanitizer_lines)
from .net import (free_port, free_ports, listening, quiet_port,  # noqa: E402,F401
                  wait_listening)
from .daemons import Daemon  # noqa: E402,F401
from .server import (GuestboxServer, RawClient, maildir_snapshot,  # noqa: E402,F401
                     snapshot)
from .stack import (DAEMONS, EX_TEMPFAIL, RECOVERY_EXIT, SMARTHOST,  # noqa: E402,F401
                    Stack, daemon_libdb_fault, libdb_fault)
from .ledger import ABSENT, Ledger  # noqa: E402,F401
from .repl import ReplSite  # noqa: E402,F401
