#!/usr/bin/env python3
# bench-imap-isolation.py: how long a bystander waits while another client
# of the same account does something heavy, guestbox-imapd against
# Dovecot on this machine, in one run (issue 17, point 3).
#
# Per server and round, one client does each of:
#   FETCH50    UID FETCH of a 50 MB message (BODY.PEEK[]): also its
#              throughput in MB/s over TLS;
#   BINARY50   FETCH BINARY.PEEK[] of a 50 MB message whose one part is
#              base64 (36 MB decoded), then BINARY.PEEK[1]: MB/s of the
#              message's size over TLS, for each;
#   STALLED    20 sessions announce 40 MB literals, send 4 MB each, stop;
#   CREATE     990 pipelined CREATEs, then LIST;
#   SEARCH3x50 SEARCH BODY of a string that is nowhere over three 50 MB
#              messages (every byte decrypted, decoded and matched);
#   SEARCH20x5 the same over twenty 5 MB messages;
# while a bystander, logged in to the same account with INBOX selected,
# sends NOOP every 5 ms and times each answer.  Printed per operation:
# the bystander's p50 and p99 in milliseconds for both servers, the
# ratio guestbox/Dovecot, and guestbox-imapd's resident memory growth
# for STALLED; "IDLE" is the bystander alone.  The load average is printed
# at the start of every round.  BENCH_ROUNDS (3) rounds, the servers
# alternating.  Dovecot is configured as bench-imap-scale.py does.
# BENCH_OPS (all of them) names the operations to run, e.g.
# "SEARCH3x50 SEARCH20x5"; BENCH_GB_IMAPD=path runs another
# guestbox-imapd binary of the same store schema (a build of an older
# commit, for before/after figures).
#
# Usage (from the build directory): make bench-imap-isolation
# Everything it starts is stopped by its PID, however it ends.

import importlib.machinery
import importlib.util
import os
import shutil
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time

SRC = os.environ.get("srcdir", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from gbtest import GuestboxServer, PASSWORD  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ADDR = "iso@bench.test"
BIG = 50 * 1000 * 1000
STALLED = 20
ANNOUNCED = 40 * 1000 * 1000
SENT = 4 * 1000 * 1000
FOLDERS = 990
OPS = ("IDLE", "FETCH50", "BINARY50", "STALLED", "CREATE", "SEARCH3x50",
       "SEARCH20x5")
OPS = tuple(o for o in OPS if o == "IDLE" or o in os.environ.get(
    "BENCH_OPS", " ".join(OPS)).split())
MID = 5 * 1000 * 1000
B64SIZE = [0]


def load_module(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


scale = load_module("bench_imap_scale",
                    os.path.join(SRC, "bench", "bench-imap-scale.py"))


class Raw:
    """One IMAP connection over TLS for pipelining and literals."""

    def __init__(self, port, ctx):
        s = socket.create_connection(("127.0.0.1", port), 120)
        self.s = ctx.wrap_socket(s, server_hostname="localhost")
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()

    def tag(self):
        self.n += 1
        return b"r%d" % self.n

    def until(self, tag):
        while True:
            got = self.f.readline()
            if not got:
                raise RuntimeError("connection closed")
            if got.endswith(b"}\r\n") and b"{" in got:
                n = int(got[got.rindex(b"{") + 1:-3])
                self.f.read(n)
                continue
            if got.startswith(tag + b" "):
                return got

    def cmd(self, line):
        tag = self.tag()
        self.s.sendall(tag + b" " + line.encode() + b"\r\n")
        got = self.until(tag)
        if not got.startswith(tag + b" OK"):
            raise RuntimeError("%s: %r" % (line, got))

    def append(self, box, data):
        tag = self.tag()
        self.s.sendall(tag + b" APPEND %s {%d}\r\n" % (box.encode(),
                                                        len(data)))
        if not self.f.readline().startswith(b"+"):
            raise RuntimeError("APPEND refused")
        self.s.sendall(data + b"\r\n")
        got = self.until(tag)
        if not got.startswith(tag + b" OK"):
            raise RuntimeError("APPEND: %r" % got)

    def close(self):
        self.s.close()


def login(port, ctx, user, pw):
    c = Raw(port, ctx)
    c.cmd('LOGIN %s "%s"' % (user, pw))
    return c


class Bystander:
    """NOOP every 5 ms; the round trips of one heavy operation."""

    def __init__(self, port, ctx, user, pw):
        self.c = login(port, ctx, user, pw)
        self.c.cmd("SELECT INBOX")
        self.times = []
        self.run = False
        self.th = None

    def _loop(self):
        while self.run:
            t0 = time.perf_counter()
            self.c.cmd("NOOP")
            self.times.append((time.perf_counter() - t0) * 1000.0)
            time.sleep(0.005)

    def start(self):
        self.times = []
        self.run = True
        self.th = threading.Thread(target=self._loop)
        self.th.start()

    def stop(self):
        self.run = False
        self.th.join()
        t = sorted(self.times) or [0.0]
        return (statistics.median(t), t[min(len(t) - 1,
                                            int(len(t) * 0.99))], len(t))


def big_message(size=BIG):
    head = (b"From: a@home.test\r\nTo: %s\r\nSubject: fifty megabytes\r\n"
            b"\r\n" % ADDR.encode())
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
        b"0123456789\r\n"
    return head + line * ((size - len(head)) // len(line))


def base64_message(raw_size=36 * 1000 * 1000):
    """A multipart of one base64 part of raw_size bytes (about 50 MB)."""
    import base64
    import random
    raw = random.Random(17).randbytes(raw_size)
    return (b"From: a@home.test\r\nTo: %s\r\nSubject: base64\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: "
            b"application/octet-stream\r\nContent-Transfer-Encoding: "
            b"base64\r\n\r\n" % ADDR.encode() +
            base64.encodebytes(raw).replace(b"\n", b"\r\n") +
            b"\r\n--BB--\r\n")


def search(res, op, port, ctx, user, pw, by, box):
    """SEARCH BODY of what is nowhere in box beside the bystander."""
    c = login(port, ctx, user, pw)
    c.cmd("SELECT %s" % box)
    by.start()
    t0 = time.perf_counter()
    c.cmd("SEARCH BODY zzznowhere")
    secs = time.perf_counter() - t0
    res[op] = by.stop() + ("%.2f s" % secs,)
    c.close()


def rss_mb(pid):
    if pid is None:
        return 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def heavy(name, port, ctx, user, pw, r, pid):
    """Each operation beside a bystander: {op: (p50, p99, n, extra)}."""
    res = {}
    by = Bystander(port, ctx, user, pw)
    by.start()
    time.sleep(1)
    res["IDLE"] = by.stop() + ("",)

    if "FETCH50" in OPS:
        c = login(port, ctx, user, pw)
        c.cmd("SELECT Big")
        by.start()
        t0 = time.perf_counter()
        c.cmd("FETCH 1 BODY.PEEK[]")
        secs = time.perf_counter() - t0
        res["FETCH50"] = by.stop() + ("%.0f MB/s" % (BIG / 1e6 / secs),)
        c.close()

    if "BINARY50" in OPS:
        c = login(port, ctx, user, pw)
        c.cmd("SELECT B64")
        by.start()
        rates = []
        for item in ("BINARY.PEEK[]", "BINARY.PEEK[1]"):
            t0 = time.perf_counter()
            c.cmd("FETCH 1 %s" % item)
            rates.append(B64SIZE[0] / 1e6 / (time.perf_counter() - t0))
        res["BINARY50"] = by.stop() + ("[] %.0f MB/s, [1] %.0f MB/s" %
                                       tuple(rates),)
        c.close()

    if "STALLED" in OPS:
        rss0 = rss_mb(pid)
        stalled = []
        by.start()
        for _ in range(STALLED):
            s = login(port, ctx, user, pw)
            tag = s.tag()
            s.s.sendall(tag + b" APPEND INBOX {%d}\r\n" % ANNOUNCED)
            s.f.readline()
            chunk = b"x" * 65536
            for _ in range(SENT // len(chunk)):
                s.s.sendall(chunk)
            stalled.append(s)
        time.sleep(1)
        p = by.stop()
        grown = rss_mb(pid) - rss0
        res["STALLED"] = p + (("+%d MB RSS" % grown) if pid else "",)
        for s in stalled:
            s.close()

    if "CREATE" in OPS:
        c = login(port, ctx, user, pw)
        by.start()
        for i in range(FOLDERS):
            c.s.sendall(b"c%d CREATE r%d-f%04d\r\n" % (i, r, i))
        c.until(b"c%d" % (FOLDERS - 1))
        c.cmd('LIST "" "*"')
        res["CREATE"] = by.stop() + ("",)
        c.close()

    if "SEARCH3x50" in OPS:
        search(res, "SEARCH3x50", port, ctx, user, pw, by, "Big")
    if "SEARCH20x5" in OPS:
        search(res, "SEARCH20x5", port, ctx, user, pw, by, "Mid")
    by.c.close()
    return res


def main():
    md = scale.mime_dovecot()
    tmp = tempfile.mkdtemp(prefix="gb-bench-iso.")
    os.chmod(tmp, 0o755)
    gb = GuestboxServer("bench-iso", extra_conf=["max_mailboxes = 10000"])
    dv = None
    try:
        print("== bench-imap-isolation: a bystander's NOOP beside heavy "
              "work, guestbox-imapd vs Dovecot")
        print("   %d cores, %s, %d rounds" % (os.cpu_count(),
                                             os.uname().release, ROUNDS))
        gb.imapd = os.environ.get("BENCH_GB_IMAPD", gb.imapd)
        gb.create(ADDR)
        gb.start()
        dovecot, conf, dv_port, uid, gid = scale.start_dovecot(
            md, tmp, gb.cert, gb.key)
        md.fill_maildir(tmp, [], uid, gid)
        # 20 stalled sessions and the rest, from one user and address
        # (Dovecot's default is 10).
        with open(conf, "a") as f:
            f.write("protocol imap {\n  mail_max_userip_connections = 100"
                    "\n}\n")
        dv = scale.run_dovecot(dovecot, conf, dv_port)
        ctx = ssl.create_default_context(cafile=gb.cert)
        servers = (("guestbox", gb.port_tls, ADDR, PASSWORD, gb.proc.pid),
                   ("dovecot", dv_port, "test", "pass", None))
        data = big_message()
        mid = big_message(MID)
        b64 = base64_message() if "BINARY50" in OPS else b""
        B64SIZE[0] = len(b64)
        for name, port, user, pw, _ in servers:
            c = login(port, ctx, user, pw)
            c.cmd("CREATE Big")
            for _ in range(3 if "SEARCH3x50" in OPS else 1):
                c.append("Big", data)
            c.cmd("CREATE Mid")
            for _ in range(20 if "SEARCH20x5" in OPS else 0):
                c.append("Mid", mid)
            c.cmd("CREATE B64")
            if "BINARY50" in OPS:
                c.append("B64", b64)
            c.close()
        results = {}
        for r in range(1, ROUNDS + 1):
            load = open("/proc/loadavg").read().split()[:3]
            print("\n-- round %d, load average %s" % (r, " ".join(load)))
            print("   %-10s %-9s %9s %9s %6s  %s" % ("op", "server", "p50 ms",
                                                  "p99 ms", "NOOPs", ""))
            order = servers if r % 2 else tuple(reversed(servers))
            got = {}
            for name, port, user, pw, pid in order:
                got[name] = heavy(name, port, ctx, user, pw, r, pid)
            for op in OPS:
                for name in ("guestbox", "dovecot"):
                    p50, p99, n, extra = got[name][op]
                    results.setdefault((op, name), []).append((p50, p99))
                    print("   %-10s %-9s %9.2f %9.2f %6d  %s" % (
                        op, name, p50, p99, n, extra))
        print("\n== median over the rounds (ms; ratio guestbox/Dovecot)")
        for op in OPS:
            g50 = statistics.median(x[0] for x in results[(op, "guestbox")])
            g99 = statistics.median(x[1] for x in results[(op, "guestbox")])
            d50 = statistics.median(x[0] for x in results[(op, "dovecot")])
            d99 = statistics.median(x[1] for x in results[(op, "dovecot")])
            print("RESULT op=%s guestbox_p50=%.2f guestbox_p99=%.2f "
                  "dovecot_p50=%.2f dovecot_p99=%.2f ratio_p99=%.2f" % (
                      op, g50, g99, d50, d99, g99 / d99 if d99 else 0))
        print("   load average at the end: %s" %
              " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        scale.stop(dv)
        gb.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
