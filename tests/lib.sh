# tests/lib.sh: the old name of the harness, kept while tests that source
# it are moved to tests/lib/harness.sh (source that instead).
. "$srcdir/tests/lib/harness.sh"
