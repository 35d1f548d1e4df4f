#!/usr/bin/env python3
# bench-imap-scale.py: what a command on one message costs in a large
# mailbox, guestbox-imapd against Dovecot on this machine, in one run
# (issue 18; issue 17's "SELECT and one-message FETCH in a mailbox of
# 100,000 vs 100").
#
# Both servers get the same three mailboxes, of 100, 10,000 and 100,000
# messages (tests/data's first five messages in turn, all \Seen but the
# last ten): for guestbox tests/gb-fill (sealed once, then copies, in
# large transactions), for Dovecot files in Maildir folders.  Dovecot is
# configured as tests/mime-dovecot.test does, with implicit TLS added, so
# that both are asked over TLS by the same client (this script, one
# connection, one command at a time).  Per mailbox and server it times:
#   SELECT       a repeated SELECT of the mailbox (the first is warm-up:
#                Dovecot builds its index then, guestbox its view);
#   FETCH        UID FETCH u BODY.PEEK[] of one message (u varies);
#   FLAGS        FETCH n (FLAGS) of one message;
#   SEARCH       UID SEARCH UID u.
# and prints the median in milliseconds, the ratio guestbox/Dovecot, and
# the load average when the round began.  BENCH_ROUNDS (3) rounds, the
# servers alternating; BENCH_REPS (100) commands per median, BENCH_SIZES
# ("100 10000 100000").  The goal of issue 18: within 2x of Dovecot at
# 100,000.
#
# BENCH_GB_IMAPD=path runs another guestbox-imapd binary of the same
# store schema (a build of an older commit, for before/after figures).
#
# Usage (from the build directory): make bench-imap-scale
# Everything it starts is stopped by its PID, however it ends.

import glob
import importlib.machinery
import importlib.util
import os
import random
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("srcdir", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from gbtest import GuestboxServer, corpus, BUILDDIR, PASSWORD  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REPS = int(os.environ.get("BENCH_REPS", "100"))
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES",
                                        "100 10000 100000").split()]
UNSEEN = 10
ADDR = "scale@bench.test"
OPS = ("SELECT", "FETCH", "FLAGS", "SEARCH")


def mime_dovecot():
    """tests/mime-dovecot.test as a module: its Dovecot configuration."""
    path = os.path.join(SRC, "tests", "mime-dovecot.test")
    loader = importlib.machinery.SourceFileLoader("mime_dovecot", path)
    spec = importlib.util.spec_from_loader("mime_dovecot", loader)
    md = importlib.util.module_from_spec(spec)
    loader.exec_module(md)
    return md


class Client:
    """One IMAP connection over TLS; one command at a time."""

    def __init__(self, port, ctx):
        s = socket.create_connection(("127.0.0.1", port), 30)
        self.s = ctx.wrap_socket(s, server_hostname="localhost")
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()

    def cmd(self, line):
        self.n += 1
        tag = b"b%d" % self.n
        self.s.sendall(tag + b" " + line.encode() + b"\r\n")
        out = []
        while True:
            got = self.f.readline()
            if not got:
                raise RuntimeError("connection closed after %r" % line)
            if got.startswith(tag + b" "):
                if not got.startswith(tag + b" OK"):
                    raise RuntimeError("%s: %r" % (line, got))
                return out
            if got.endswith(b"}\r\n") and b"{" in got:
                n = int(got[got.rindex(b"{") + 1:-3])
                got += self.f.read(n)
            out.append(got)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (RuntimeError, OSError):
            pass
        self.s.close()


def timed(c, lines):
    """The median round trip of the commands, in milliseconds."""
    times = []
    for line in lines:
        t0 = time.perf_counter()
        c.cmd(line)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def measure(port, ctx, user, password, box, n):
    c = Client(port, ctx)
    c.cmd("LOGIN %s \"%s\"" % (user, password))
    c.cmd("SELECT %s" % box)
    c.cmd("SELECT %s" % box)
    rnd = random.Random(n)
    res = {}
    res["SELECT"] = timed(c, ["SELECT %s" % box] * max(REPS // 5, 5))
    res["FETCH"] = timed(c, ["UID FETCH %d BODY.PEEK[]" % rnd.randint(1, n)
                             for _ in range(REPS)])
    res["FLAGS"] = timed(c, ["FETCH %d (FLAGS)" % rnd.randint(1, n)
                             for _ in range(REPS)])
    res["SEARCH"] = timed(c, ["UID SEARCH UID %d" % rnd.randint(1, n)
                              for _ in range(REPS)])
    c.close()
    return res


def fill_maildir(root, box, n, files, uid, gid):
    """Maildir++ folder .box (INBOX's subfolder) with n messages."""
    md = os.path.join(root, "." + box)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    data = [open(f, "rb").read() for f in files]
    for i in range(n):
        flags = "" if i >= n - UNSEEN else "S"
        name = "%d.M%dP1.bench:2,%s" % (1700000000 + i, i, flags)
        with open(os.path.join(md, "cur", name), "wb") as f:
            f.write(data[i % len(data)])
    subprocess.run(["chown", "-R", "%d:%d" % (uid, gid), md], check=True)


def start_dovecot(md, tmp, cert, key):
    dovecot = md.find_dovecot()
    if dovecot is None:
        raise SystemExit("bench-imap-scale: dovecot is not installed "
                         "(apt-get install dovecot-imapd)")
    plain = md.free_port()
    port = md.free_port()
    conf, uid, gid = md.write_config(tmp, plain)
    text = open(conf).read()
    text = text.replace("ssl = no", "ssl = required\nssl_cert = <%s\n"
                        "ssl_key = <%s" % (cert, key))
    text = text.replace("inet_listener imaps {\n    port = 0\n  }",
                        "inet_listener imaps {\n    address = 127.0.0.1\n"
                        "    port = %d\n    ssl = yes\n  }" % port)
    # Dovecot is the only writer of its Maildirs, as guestbox is of its
    # store: it need not read the directories at every SELECT.
    text += "maildir_very_dirty_syncs = yes\n"
    text = text.replace("instance_name = guestbox-mime-test",
                        "instance_name = guestbox-bench-scale-%d" %
                        os.getpid())
    with open(conf, "w") as f:
        f.write(text)
    return dovecot, conf, port, uid, gid


def wait_port(port, proc, what):
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit("bench-imap-scale: %s did not start" % what)
            time.sleep(0.1)


def bench_setup(name, title, detail):
    """The temporary directory (Dovecot's home) and the guestbox server
    of bench-imap-NAME; BENCH_GB_IMAPD=path runs another guestbox-imapd.
    Prints the title line and the machine's."""
    tmp = tempfile.mkdtemp(prefix="gb-bench-%s." % name)
    os.chmod(tmp, 0o755)
    gb = GuestboxServer("bench-%s" % name)
    gb.imapd = os.environ.get("BENCH_GB_IMAPD", gb.imapd)
    print("== bench-imap-%s: %s" % (name, title))
    print("   %d cores, %s, %s" % (os.cpu_count(), os.uname().release, detail))
    return tmp, gb


def run_dovecot(dovecot, conf, port):
    """Dovecot in the foreground of a session of its own, listening."""
    proc = subprocess.Popen([dovecot, "-F", "-c", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port, proc, "dovecot")
    except BaseException:
        stop(proc)
        raise
    return proc


def first_selects(servers, ctx, boxes):
    """Dovecot indexes a folder at its first SELECT: not measured."""
    for _, port, user, pw in servers:
        for box in boxes:
            c = Client(port, ctx)
            c.cmd("LOGIN %s \"%s\"" % (user, pw))
            c.cmd("SELECT %s" % box)
            c.close()


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def main():
    md = mime_dovecot()
    files = corpus()[:5]
    fill = os.path.join(BUILDDIR, "tests", "gb-fill")
    tmp, gb = bench_setup(
        "scale", "one-message commands by mailbox size, guestbox-imapd vs "
        "Dovecot", "sizes %s, %d rounds, %d commands per median" %
        (" ".join(str(s) for s in SIZES), ROUNDS, REPS))
    dv = None
    try:
        gb.create(ADDR)
        t0 = time.time()
        for n in SIZES:
            gb._run([fill, gb.conf, ADDR, "M%d" % n, str(n), str(UNSEEN)] +
                    files, demote=True)
        print("   guestbox: %d messages filled in %.1f s" %
              (sum(SIZES), time.time() - t0))
        gb.start()
        dovecot, conf, dv_port, uid, gid = start_dovecot(md, tmp, gb.cert,
                                                         gb.key)
        t0 = time.time()
        md.fill_maildir(tmp, [], uid, gid)	# INBOX and the home
        for n in SIZES:
            fill_maildir(os.path.join(tmp, "Maildir"), "M%d" % n, n, files,
                         uid, gid)
        print("   Dovecot: %d messages written in %.1f s" %
              (sum(SIZES), time.time() - t0))
        dv = run_dovecot(dovecot, conf, dv_port)
        ctx = ssl.create_default_context(cafile=gb.cert)
        servers = (("guestbox", gb.port_tls, ADDR, PASSWORD),
                   ("dovecot", dv_port, "test", "pass"))
        t0 = time.time()
        first_selects(servers, ctx, ["M%d" % n for n in SIZES])
        print("   first SELECTs (indexing, views): %.1f s" % (time.time() - t0))
        results = {}
        for r in range(1, ROUNDS + 1):
            load = open("/proc/loadavg").read().split()[:3]
            print("\n-- round %d, load average %s" % (r, " ".join(load)))
            print("   %-8s %8s  %-7s %10s %10s %7s" % (
                "messages", "", "", "guestbox", "dovecot", "ratio"))
            order = servers if r % 2 else tuple(reversed(servers))
            for n in SIZES:
                got = {}
                for name, port, user, pw in order:
                    got[name] = measure(port, ctx, user, pw, "M%d" % n, n)
                for op in OPS:
                    g, d = got["guestbox"][op], got["dovecot"][op]
                    results.setdefault((n, op), []).append((g, d))
                    print("   %-8d %8s  %-7s %8.3fms %8.3fms %6.2fx" % (
                        n, "", op, g, d, g / d if d else 0))
        print("\n== median over the rounds (ms; ratio guestbox/Dovecot)")
        for n in SIZES:
            for op in OPS:
                g = statistics.median(x[0] for x in results[(n, op)])
                d = statistics.median(x[1] for x in results[(n, op)])
                print("RESULT messages=%d op=%s guestbox=%.3f dovecot=%.3f "
                      "ratio=%.2f" % (n, op, g, d, g / d if d else 0))
        print("   load average at the end: %s" %
              " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        stop(dv)
        gb.cleanup()
        if os.environ.get("BENCH_KEEP"):
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
