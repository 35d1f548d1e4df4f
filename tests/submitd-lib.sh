# tests/submitd-lib.sh: the old name of the harness's guestbox part, kept
# while tests that source it are moved to tests/lib/harness.sh.
. "$srcdir/tests/lib/harness.sh"
