# tests/postfix-lib.sh: the old name of tests/lib/postfix.sh, kept while
# tests that source it move there.
. "$srcdir/tests/lib/postfix.sh"
