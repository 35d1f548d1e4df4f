# tests/lib/gbtest/env.py: where the tests run, what they report, and the
# exit codes automake's test driver reads (0 pass, 1 fail, 77 skip, 99
# hard error).  The tests run from the build directory with srcdir in the
# environment; nothing here writes into srcdir (distcheck makes it
# read-only).

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True

SRCDIR = os.environ.get("srcdir", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BUILDDIR = os.environ.get("top_builddir", os.environ.get("builddir", "."))
DATA = os.path.join(SRCDIR, "tests", "data")
PASSWORD = "correct horse battery staple"


class Skip(Exception):
    pass


class TestFailure(Exception):
    pass


def need(*programs):
    for p in programs:
        if shutil.which(p) is None:
            raise Skip("%s is not installed" % p)


def corpus():
    return sorted(os.path.join(DATA, n) for n in os.listdir(DATA)
                  if n.endswith(".eml"))


class Checker:
    """TAP-like counting of checks; the closing line is what automake
    and CI read."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        if cond:
            self.passed += 1
            print("ok %d - %s" % (self.passed + self.failed, what))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.passed + self.failed, what))
            if detail is not None:
                for line in str(detail).splitlines()[:40]:
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what, detail=None):
        return self.ok(got == want, what,
                       "got:    %r\nwanted: %r%s" % (
                           got, want, "" if detail is None else
                           "\n%r" % (detail,)))

    def match(self, pattern, got, what):
        if isinstance(got, bytes) and isinstance(pattern, str):
            pattern = pattern.encode()
        return self.ok(re.search(pattern, got) is not None, what,
                       "got: %r\nwanted a match for %r" % (got, pattern))

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def run_main(fn):
    """Runs fn() and exits with automake's codes: 0, 1, 77 skip, 99 error."""
    try:
        rc = fn()
    except Skip as e:
        print("SKIP: %s" % e)
        rc = 77
    except TestFailure as e:
        print("FAIL: %s" % e)
        rc = 1
    sys.exit(rc)


def message(n, subject=None, body=None):
    """A small distinct message for the client tests."""
    subject = subject or "Message %d" % n
    return ("From: Sender <sender@home.test>\r\n"
            "To: alice@external.test\r\n"
            "Subject: %s\r\n"
            "Date: Mon, 02 Feb 2026 10:%02d:00 +0100\r\n"
            "Message-ID: <msg%d.%s@home.test>\r\n"
            "\r\n"
            "%s\r\n" % (subject, n % 60, n, subject.replace(" ", "-"),
                        body or "Body of message %d." % n)).encode()


# A build with --enable-sanitizers reports to a daemon's log.
SANITIZER_RE = re.compile(r"^.*(?:ERROR: \w+Sanitizer|runtime error:"
                          r"|SUMMARY: \w+Sanitizer).*$", re.M)


def sanitizer_lines(text):
    return SANITIZER_RE.findall(text)
