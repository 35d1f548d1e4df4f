#!/usr/bin/env python3
"""tests/smtp-badinput.py: the SMTP part of the bad-input catalogue
(issue 4, issue 7) against a running guestbox-submitd.

  smtp-badinput.py --smtps P --submission P --lmtp P --pid PID
                   --user U --password PW --rcpts A,B,...

--rcpts are LMTP mailboxes (at least max_recipients of them, which must
be 5); --user is an active mailbox whose correspondent sender@home.test
has a key.  Each case sends hostile input, checks the answer, and then
that the daemon is alive and serving: a new connection gets its
greeting and an EHLO or LHLO answer.  Prints TAP-like "ok N - case"
lines; exits 1 at the first failure.
"""
import argparse
import base64
import os
import re
import signal
import socket
import ssl
import sys
import time

A = None
n_ok = 0


def ok(what):
    global n_ok
    n_ok += 1
    print("ok %d - %s" % (n_ok, what), flush=True)


def fail(what):
    print("FAIL: %s" % what, flush=True)
    sys.exit(1)


def ctx():
    return ssl.create_default_context(
        cafile=os.path.join(os.environ["tmp"], "cert.pem"))


class C:
    """One connection; lines are read with a timeout."""

    def __init__(self, port, tls=False, timeout=30):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            s = ctx().wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.buf = b""
        self.lines = []

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                d = b""
            if not d:
                return None
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        l = l.rstrip(b"\r").decode("utf-8", "replace")
        self.lines.append(l)
        return l

    def reply(self):
        """The next complete reply, as its last line ("250 ..."), or None."""
        while True:
            l = self.line()
            if l is None:
                return None
            if len(l) < 4 or l[3] != "-":
                return l

    def expect(self, pattern, what):
        r = self.reply()
        if r is None or not re.match(pattern, r):
            fail("%s: got %r, wanted /%s/ (all: %r)" %
                 (what, r, pattern, self.lines[-5:]))
        return r

    def closed(self, what, timeout=10):
        """The server closes the connection (after what it still says)."""
        self.s.settimeout(timeout)
        end = time.time() + timeout
        while time.time() < end:
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError, OSError):
                return
            if not d:
                return
            self.buf += d
        fail("%s: the server did not close the connection" % what)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def greet(port, tls=False, lmtp=False):
    c = C(port, tls)
    c.expect(r"220 ", "greeting")
    c.send("LHLO client.test\r\n" if lmtp else "EHLO client.test\r\n")
    c.expect(r"250 ", "EHLO")
    return c


def auth(c):
    tok = base64.b64encode(b"\0" + A.user.encode() + b"\0" +
                           A.password.encode()).decode()
    c.send("AUTH PLAIN %s\r\n" % tok)
    c.expect(r"235 2\.7\.0", "AUTH")


def alive(what):
    """Every listener still answers, and a transaction still works."""
    for port, tls, lmtp in ((A.smtps, True, False), (A.submission, False, False),
                            (A.lmtp, False, True)):
        c = greet(port, tls, lmtp)
        c.send("NOOP\r\nQUIT\r\n")
        c.expect(r"250 ", "NOOP")
        c.expect(r"221 ", "QUIT")
        c.close()
    ok("alive after: " + what)


def rss_kb():
    with open("/proc/%d/status" % A.pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return 0


def asan():
    with open("/proc/%d/maps" % A.pid) as f:
        return "libasan" in f.read()


# ---- long lines ----

def case_long_line():
    before = rss_kb()
    for port, tls, lmtp in ((A.smtps, True, False), (A.lmtp, False, True)):
        c = greet(port, tls, lmtp)
        big = b"NOOP " + b"x" * (1 << 20) + b"\r\n"
        c.send(big)
        c.expect(r"500 5\.5\.2 Line too long", "1 MiB command line")
        c.send("NOOP\r\n")
        c.expect(r"250 ", "NOOP after the long line")
        # A 1 MiB line as the very first thing, before EHLO.
        c2 = C(port, tls)
        c2.expect(r"220 ", "greeting")
        c2.send(b"x" * (1 << 20) + b"\r\nNOOP\r\n")
        c2.expect(r"500 5\.5\.2 Line too long", "1 MiB line before EHLO")
        c2.expect(r"250 ", "NOOP")
        c2.close()
        c.close()
    # 64 MiB without a line end: memory stays bounded.
    c = greet(A.lmtp, lmtp=True)
    chunk = b"y" * (1 << 20)
    for i in range(64):
        c.send(chunk)
    c.send(b"\r\nNOOP\r\n")
    c.expect(r"500 5\.5\.2 Line too long", "64 MiB line")
    c.expect(r"250 ", "NOOP after 64 MiB")
    c.close()
    grown = rss_kb() - before
    # AddressSanitizer keeps freed memory in quarantine (256 MiB).
    if grown > 16 * 1024 and not asan():
        fail("64 MiB line: the daemon grew by %d kB" % grown)
    ok("1 MiB and 64 MiB command lines: 500 5.5.2, memory grew %d kB" % grown)
    alive("long lines")


# ---- recipients ----

def rcpt_flood(c, n, addr_fmt):
    """Sends MAIL, then n RCPTs pipelined; returns (codes, seconds)."""
    t = time.time()
    c.send("".join("RCPT TO:<%s>\r\n" % (addr_fmt % i if "%" in addr_fmt
                                           else addr_fmt) for i in range(n)))
    codes = []
    for i in range(n):
        r = c.reply()
        if r is None:
            fail("RCPT flood: connection closed after %d replies" % i)
        codes.append(r[:9])
    return codes, time.time() - t


def lmtp_five(c, rcpts):
    """MAIL and the first five (real) recipients, each accepted."""
    c.send("MAIL FROM:<sender@home.test>\r\n")
    c.expect(r"250 ", "MAIL")
    for r in rcpts[:5]:
        c.send("RCPT TO:<%s>\r\n" % r)
        c.expect(r"250 2\.1\.5", "RCPT %s" % r)


def case_many_rcpts():
    rcpts = A.rcpts.split(",")
    c = greet(A.lmtp, lmtp=True)
    lmtp_five(c, rcpts)
    codes, t1k = rcpt_flood(c, 1000, "flood%d@external.test")
    if set(codes) != {"452 4.5.3"}:
        fail("1,000 RCPTs over the limit: %r" % set(codes))
    c.send("RSET\r\n")
    c.expect(r"250 ", "RSET")
    lmtp_five(c, rcpts)
    codes, t10k = rcpt_flood(c, 10000, "flood%d@external.test")
    if set(codes) != {"452 4.5.3"}:
        fail("10,000 RCPTs over the limit: %r" % set(codes))
    # Linear, not quadratic: ten times the RCPTs, about ten times the time.
    if t10k > 30 * max(t1k, 0.05):
        fail("10,000 RCPTs took %.2f s, 1,000 took %.2f s" % (t10k, t1k))
    # The transaction is still usable: DATA goes to the five.
    c.send("DATA\r\n")
    c.expect(r"354 ", "DATA")
    c.send("Subject: flood\r\n\r\nafter 10,000 RCPTs\r\n.\r\n")
    for r in rcpts[:5]:
        c.expect(r"250 2\.0\.0 <%s> delivered" % re.escape(r), "delivery")
    c.send("QUIT\r\n")
    c.close()
    ok("10,000 RCPTs: 452 4.5.3 after max_recipients (1,000 in %.2f s, "
       "10,000 in %.2f s)" % (t1k, t10k))

    # Submission: 10,000 RCPTs after the limit cost no key lookups.
    c = greet(A.smtps, tls=True)
    auth(c)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<sender@home.test>\r\n" % A.user)
    c.expect(r"250 ", "MAIL")
    c.expect(r"250 ", "RCPT")
    codes, t = rcpt_flood(c, 10000, "sender@home.test")
    if set(codes) != {"250 2.1.5"}:
        fail("10,000 duplicate RCPTs: %r" % set(codes))
    c.send("QUIT\r\n")
    c.close()
    ok("submission: 10,000 duplicate RCPTs in %.2f s" % t)
    # Keyless recipients are refused, and refusals count as errors: a
    # client cannot make the server run gpg for ever.
    c = greet(A.smtps, tls=True)
    auth(c)
    c.send("MAIL FROM:<%s>\r\n" % A.user)
    c.expect(r"250 ", "MAIL")
    c.send("".join("RCPT TO:<nokey%d@elsewhere.test>\r\n" % i
                   for i in range(200)))
    n550 = 0
    while True:
        r = c.reply()
        if r is None:
            break
        if r.startswith("550 5.7.1"):
            n550 += 1
        elif r.startswith("421 4.7.0"):
            break
        else:
            fail("keyless RCPT flood: %r" % r)
    if n550 > 25:
        fail("keyless RCPT flood: %d refusals before hanging up" % n550)
    c.closed("keyless RCPT flood")
    ok("200 keyless RCPTs: %d refused with 550 5.7.1, then 421" % n550)
    alive("10,000 RCPTs")


# ---- NULs, bare LF, smuggling ----

def case_nul():
    c = greet(A.smtps, tls=True)
    c.send(b"EHLO a\0b\r\n")
    c.expect(r"500 5\.5\.2 NUL", "NUL in EHLO")
    c.send(b"MAIL FROM:<a\0@b.test>\r\n")
    c.expect(r"500 5\.5\.2 NUL", "NUL in MAIL")
    c.send(b"\0\0\0\0\r\n")
    c.expect(r"500 5\.5\.2 NUL", "NULs")
    c.send(b"NOOP\r\n")
    c.expect(r"250 ", "NOOP")
    c.close()
    # NULs in a message are data; LMTP delivers them.
    c = greet(A.lmtp, lmtp=True)
    rcpt = A.rcpts.split(",")[0]
    c.send("MAIL FROM:<sender@home.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt)
    c.expect(r"250 ", "MAIL")
    c.expect(r"250 ", "RCPT")
    c.expect(r"354 ", "DATA")
    c.send(b"Subject: nul\0s\r\n\r\nbody \0 with NUL\r\n.\r\n")
    c.expect(r"250 2\.0\.0 ", "message with NULs")
    c.close()
    ok("NUL in commands: 500 5.5.2; in a message: delivered")
    alive("NULs")


def data_session(lmtp=True):
    rcpt = A.rcpts.split(",")[0]
    c = greet(A.lmtp, lmtp=True)
    c.send("MAIL FROM:<sender@home.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt)
    c.expect(r"250 ", "MAIL")
    c.expect(r"250 ", "RCPT")
    c.expect(r"354 ", "DATA")
    return c


def case_bare_lf():
    c = data_session()
    c.send(b"Subject: bare\r\n\r\nline one\nline two\r\n.\r\n")
    c.expect(r"550 5\.6\.0 Message refused: it holds a bare LF", "bare LF")
    c.send(b"NOOP\r\n")
    c.expect(r"250 ", "NOOP after the refusal")
    c.close()
    c = data_session()
    c.send(b"Subject: bare\r\n\r\nline one\rline two\r\n.\r\n")
    c.expect(r"550 5\.6\.0 Message refused: it holds a bare CR", "bare CR")
    c.close()
    ok("bare LF and bare CR in DATA: 550 5.6.0")
    # SMTP smuggling: a lax end of data, then a second transaction.
    smuggled = ("MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                "Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n" %
                A.rcpts.split(",")[0]).encode()
    for end in (b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r"):
        c = data_session()
        c.send(b"Subject: carrier\r\n\r\ncarrier" + end + smuggled)
        r = c.reply()
        if r is None or not r.startswith("554 5.6.0"):
            fail("smuggling %r: %r" % (end, r))
        rest = []
        while True:
            r = c.reply()
            if r is None:
                break
            rest.append(r)
        if rest:
            fail("smuggling %r: replies after the 554: %r" % (end, rest))
        c.close()
    ok("SMTP smuggling (\\n.\\n, \\r\\n.\\n, \\n.\\r\\n, \\r.\\r\\n, "
       "\\r\\n.\\r): 554 5.6.0, closed, nothing smuggled")
    alive("bare LF and smuggling")


# ---- commands not offered, cross-protocol ----

def case_bdat():
    for port, tls, lmtp in ((A.smtps, True, False), (A.lmtp, False, True)):
        c = greet(port, tls, lmtp)
        c.send("BDAT 12 LAST\r\nMAIL FROM:<x@y.test>\r\n")
        c.expect(r"502 5\.5\.1 ", "BDAT")
        c.closed("BDAT")
    c = C(A.submission)
    c.expect(r"220 ", "greeting")
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    c.expect(r"500 5\.5\.2 ", "HTTP request")
    c.closed("HTTP request")
    ok("BDAT (not offered): 502 5.5.1 and closed; HTTP: 500 and closed")
    alive("BDAT")


# ---- AUTH ----

def case_auth():
    c = greet(A.smtps, tls=True)
    c.send("AUTH PLAIN !!!notbase64!!!\r\n")
    c.expect(r"501 5\.5\.2 ", "invalid base64 (initial response)")
    c.send("AUTH PLAIN\r\n")
    c.expect(r"334 ", "AUTH PLAIN")
    c.send("dGVzdA=\r\n")
    c.expect(r"501 5\.5\.2 ", "invalid base64 (bad padding)")
    c.send("AUTH LOGIN\r\n")
    c.expect(r"334 ", "AUTH LOGIN")
    c.send("a b c\r\n")
    c.expect(r"501 5\.5\.2 ", "invalid base64 (blanks)")
    c.send("NOOP\r\n")
    c.expect(r"250 ", "NOOP")
    c.close()
    ok("AUTH with invalid base64: 501 5.5.2")

    user = b"u" * 65536 + b"@external.test"
    plain = base64.b64encode(b"\0" + user + b"\0pw")
    c = greet(A.smtps, tls=True)
    c.send(b"AUTH PLAIN " + plain + b"\r\n")
    c.expect(r"500 5\.5\.2 Line too long", "64 KiB user (initial response)")
    c.send("AUTH PLAIN\r\n")
    c.expect(r"334 ", "AUTH PLAIN")
    c.send(plain + b"\r\n")
    c.expect(r"500 5\.5\.6 ", "64 KiB user (continuation)")
    c.send("AUTH LOGIN\r\n")
    c.expect(r"334 ", "AUTH LOGIN")
    c.send(base64.b64encode(user) + b"\r\n")
    c.expect(r"500 5\.5\.6 ", "64 KiB user (LOGIN)")
    # Short enough for the line, too long for any address.
    user600 = base64.b64encode(b"\0" + b"u" * 600 + b"@x.test\0pw")
    c.send(b"AUTH PLAIN " + user600 + b"\r\n")
    c.expect(r"535 5\.7\.8 ", "600-octet user")
    user2k = base64.b64encode(b"\0" + b"u" * 2000 + b"@x.test\0pw")
    c.send(b"AUTH PLAIN " + user2k + b"\r\n")
    c.expect(r"500 5\.5\.6 ", "2,000-octet user")
    c.send("NOOP\r\n")
    c.expect(r"250 ", "NOOP")
    c.close()
    ok("64 KiB user name: 500 5.5.2 / 500 5.5.6; 600 octets: 535 5.7.8")
    alive("long user names")

    # Aborted exchanges count as errors: the client is cut off.
    c = greet(A.smtps, tls=True)
    aborted = 0
    for i in range(1000):
        c.send("AUTH LOGIN\r\n")
        r = c.reply()
        if r is None:
            break
        if r.startswith("421 "):
            break
        if not r.startswith("334 "):
            fail("aborted AUTH %d: %r" % (i, r))
        c.send("*\r\n")
        r = c.reply()
        if r is None or r.startswith("421 "):
            aborted += 1
            break
        if not r.startswith("501 5.7.0"):
            fail("aborted AUTH %d: %r" % (i, r))
        aborted += 1
    if aborted > 25:
        fail("%d aborted AUTH exchanges allowed on one connection" % aborted)
    c.closed("aborted AUTH exchanges")
    ok("aborted AUTH exchanges: 501 5.7.0 each, closed after %d" % aborted)
    # Many connections, each aborting: the server keeps serving.
    for i in range(50):
        c = greet(A.smtps, tls=True)
        c.send("AUTH PLAIN\r\n")
        c.expect(r"334 ", "AUTH")
        c.send("*\r\n")
        c.expect(r"501 5\.7\.0 ", "abort")
        c.close()
    ok("50 connections that abort AUTH")
    alive("aborted AUTH exchanges")


# ---- STARTTLS ----

def case_starttls_injection():
    c = C(A.submission)
    c.expect(r"220 ", "greeting")
    c.send("EHLO client.test\r\n")
    c.expect(r"250 ", "EHLO")
    c.send("STARTTLS\r\nMAIL FROM:<alice@external.test>\r\n")
    c.expect(r"554 5\.5\.1 Commands after STARTTLS", "pipelined STARTTLS")
    c.closed("pipelined STARTTLS")
    # All in one packet, from the greeting on.
    c = C(A.submission)
    c.send("EHLO client.test\r\nSTARTTLS\r\nRSET\r\n")
    c.expect(r"220 ", "greeting")
    c.expect(r"250 ", "EHLO")
    c.expect(r"554 5\.5\.1 ", "EHLO+STARTTLS+RSET")
    c.closed("EHLO+STARTTLS+RSET")
    ok("STARTTLS with a command behind it: 554 5.5.1 and closed")
    # STARTTLS where it is not offered.
    c = greet(A.smtps, tls=True)
    c.send("STARTTLS\r\n")
    c.expect(r"503 5\.5\.1 TLS is active", "STARTTLS over TLS")
    c.close()
    c = greet(A.lmtp, lmtp=True)
    c.send("STARTTLS\r\n")
    c.expect(r"502 5\.5\.1 ", "STARTTLS on LMTP")
    # LMTP's table has no AUTH row: not implemented there at all.
    c.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nNOOP\r\n")
    c.expect(r"502 5\.5\.1 ", "AUTH on LMTP")
    c.expect(r"250 ", "NOOP after AUTH on LMTP")
    c.close()
    ok("STARTTLS not offered: 503 / 502; AUTH on LMTP: 502")
    alive("STARTTLS injection")


# ---- envelope ----

def case_envelope():
    c = greet(A.smtps, tls=True)
    auth(c)
    cases = [
        ("MAIL FROM:<%s@external.test>" % ("a" * 10000), r"500 5\.5\.2 Line"),
        ("MAIL FROM:<%s> SMTPUTF8" % A.user, r"555 5\.5\.4 "),
        ("MAIL FROM:<%s> FOO=BAR" % A.user, r"555 5\.5\.4 "),
        ("MAIL FROM:<%s> SIZE=99999999999999999999999999" % A.user,
         r"(501|552) "),
        ("MAIL FROM:<%s> BODY=BINARYMIME" % A.user, r"(501|555) "),
        ("MAIL FROM:<j\xc3\xbcrgen@external.test>", r"553 5\.6\.7 "),
        ("MAIL FROM:alice@external.test", r"501 5\.5\.4 "),
        ("MAIL FROM:<%s>" % A.user, r"250 2\.1\.0 "),
        ("MAIL FROM:<%s>" % A.user, r"503 5\.5\.1 "),
        ("RCPT TO:<@route.test:sender@home.test>", r"250 2\.1\.5 "),
        ("RCPT TO:<>", r"(501|553) "),
        ("RCPT TO:<a@[999.1.1.1]>", r"(501|553) "),
        ("RCPT TO:<%s@home.test>" % ("b" * 300), r"(501|553) "),
        ("VRFY sender@home.test", r"252 "),
        ("EXPN list", r"502 "),
        ("HELP", r"214 "),
    ]
    for cmd, want in cases:
        c.send(cmd.encode() + b"\r\n")
        c.expect(want, cmd[:60])
    c.send("QUIT\r\n")
    c.expect(r"221 ", "QUIT")
    c.close()
    ok("%d envelope and parameter cases" % len(cases))
    # Twenty bad commands and the client is cut off.
    c = greet(A.lmtp, lmtp=True)
    c.send("".join("BOGUS%d\r\n" % i for i in range(30)))
    codes = []
    while True:
        r = c.reply()
        if r is None:
            break
        codes.append(r[:3])
    if codes[-1:] != ["421"] or len(codes) != 21:
        fail("too many errors: %r" % codes)
    ok("too many errors: 421 after 20")
    alive("envelope")


# ---- SIGTERM in the middle of a message ----

def case_sigterm():
    """Not in the default list: it stops the daemon."""
    c = greet(A.smtps, tls=True)
    auth(c)
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<sender@home.test>\r\nDATA\r\n" %
           A.user)
    c.expect(r"250 ", "MAIL")
    c.expect(r"250 ", "RCPT")
    c.expect(r"354 ", "DATA")
    c.send("From: %s\r\nTo: sender@home.test\r\nSubject: sigterm\r\n\r\n"
           "the first half" % A.user)
    time.sleep(0.5)
    os.kill(A.pid, signal.SIGTERM)
    time.sleep(1)
    c.send(" and the rest\r\n.\r\n")
    c.expect(r"250 2\.0\.0 Ok: queued", "the message under way at SIGTERM")
    c.expect(r"421 4\.3\.2 Service shutting down", "after the message")
    c.closed("after SIGTERM")
    ok("SIGTERM during DATA: the message is finished and queued, then 421")


# ---- connections ----

def case_connections():
    """max_connections_per_ip, and the unix socket is not counted."""
    held = []
    for i in range(A.max_conn):
        c = C(A.lmtp)
        c.expect(r"220 ", "connection %d" % (i + 1))
        held.append(c)
    c = C(A.smtps, tls=True)
    c.expect(r"421 4\.7\.0 Too many connections", "one connection too many")
    c.closed("one connection too many")
    if A.unix:
        u = socket.socket(socket.AF_UNIX)
        u.connect(A.unix)
        u.settimeout(10)
        if not u.recv(100).startswith(b"220 "):
            fail("the unix socket counted against the address limit")
        u.close()
    for c in held:
        c.close()
    time.sleep(0.5)
    ok("%d connections from one address, then 421 4.7.0" % A.max_conn)
    alive("too many connections")


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtps", type=int, required=True)
    ap.add_argument("--submission", type=int, required=True)
    ap.add_argument("--lmtp", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--rcpts", required=True)
    ap.add_argument("--max-conn", type=int, default=0)
    ap.add_argument("--unix")
    ap.add_argument("cases", nargs="*")
    A = ap.parse_args()
    cases = [case_long_line, case_many_rcpts, case_nul, case_bare_lf,
             case_bdat, case_auth, case_starttls_injection, case_envelope]
    if A.max_conn:
        cases.append(case_connections)
    if A.cases:
        cases.append(case_sigterm)
    for f in cases:
        if not A.cases or f.__name__[5:] in A.cases:
            f()


if __name__ == "__main__":
    main()
