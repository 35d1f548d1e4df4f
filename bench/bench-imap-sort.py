#!/usr/bin/env python3
# bench-imap-sort.py: SORT, ESORT and THREAD (RFC 5256, RFC 5267) in
# large mailboxes, guestbox-imapd against Dovecot on this machine, in one
# run (issue 17).
#
# Both servers get the same mailboxes, of 1,000 and 10,000 messages, each
# message its own (subjects with and without "Re:", senders, Date fields
# in several zones, Message-IDs and References making threads): for
# guestbox tests/gb-fill (each message sealed, as a delivery does), for
# Dovecot files in Maildir folders (configured as bench-imap-scale.py
# does).  Per mailbox and server a new connection SELECTs and runs each
# command twice:
#   first        the first time in the session (guestbox reads every
#                message's sealed cache then; Dovecot its index);
#   repeated     the median of BENCH_REPS (5) more.
# The commands: SORT (DATE), (ARRIVAL), (SUBJECT), (FROM), (REVERSE
# SIZE), SORT RETURN (MIN MAX COUNT) (DATE), THREAD REFERENCES and
# THREAD ORDEREDSUBJECT, all over ALL.  Each figure is printed in
# milliseconds with the load average beside it and the ratio
# guestbox/Dovecot.  Last, a bystander's NOOP round trips (p50, p99)
# while another session runs, in a new session, SORT (SUBJECT) of the
# 10,000 messages (the first one and then BENCH_REPS more).
# BENCH_ROUNDS (3) rounds, the servers alternating; BENCH_SIZES
# ("1000 10000").
#
# BENCH_CMDS (all) names the commands to time; BENCH_BYSTANDER
# ("SUBJECT") those a bystander's NOOPs are timed beside, e.g.
# "SUBJECT THR-REFS THR-ORD" (THREAD at 100,000 messages: BENCH_SIZES=
# 100000).  Each answer of guestbox is printed as a digest beside
# whether it is Dovecot's, so two runs (before/after) can be compared.
# BENCH_GB_IMAPD=path runs another guestbox-imapd binary of the same
# store schema (a build of an older commit, for before/after figures).
#
# Usage (from the build directory): make bench-imap-sort
# Everything it starts is stopped by its PID, however it ends.

import hashlib
import importlib.util
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import time

SRC = os.environ.get("srcdir", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from gbtest import BUILDDIR, PASSWORD  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REPS = int(os.environ.get("BENCH_REPS", "5"))
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES",
                                        "1000 10000").split()]
ADDR = "sort@bench.test"
CMDS = (
    ("DATE", "SORT (DATE) UTF-8 ALL"),
    ("ARRIVAL", "SORT (ARRIVAL) UTF-8 ALL"),
    ("SUBJECT", "SORT (SUBJECT) UTF-8 ALL"),
    ("FROM", "SORT (FROM) UTF-8 ALL"),
    ("REV-SIZE", "SORT (REVERSE SIZE) UTF-8 ALL"),
    ("ESORT", "SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL"),
    ("THR-REFS", "THREAD REFERENCES UTF-8 ALL"),
    ("THR-ORD", "THREAD ORDEREDSUBJECT UTF-8 ALL"),
)
CMDS = tuple(c for c in CMDS if c[0] in os.environ.get(
    "BENCH_CMDS", " ".join(n for n, _ in CMDS)).split())
BYSTANDER = os.environ.get("BENCH_BYSTANDER", "SUBJECT").split()
ALLCMDS = dict((
    ("SUBJECT", "SORT (SUBJECT) UTF-8 ALL"),
    ("THR-REFS", "THREAD REFERENCES UTF-8 ALL"),
    ("THR-ORD", "THREAD ORDEREDSUBJECT UTF-8 ALL"),
))


# bench-imap-isolation.py's Bystander, and the bench-imap-scale.py it
# loads (its Client and Dovecot set-up).
_spec = importlib.util.spec_from_file_location(
    "bench_imap_isolation", os.path.join(SRC, "bench",
                                         "bench-imap-isolation.py"))
iso = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(iso)
scale = iso.scale

WORDS = ("budget", "meeting", "release", "lunch", "invoice", "travel",
         "report", "party", "review", "backup", "garden", "concert")
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace",
         "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent")
ZONES = ("+0000", "-0500", "+0100", "+0930", "-0800")


def messages(n):
    """n messages of n // 4 threads: bytes, in delivery order."""
    out = []
    for i in range(n):
        thread = i % max(n // 4, 1)
        depth = i // max(n // 4, 1)
        who = NAMES[(i * 7) % len(NAMES)]
        subj = "%s %s %d" % (WORDS[thread % len(WORDS)],
                             WORDS[(thread // len(WORDS)) % len(WORDS)],
                             thread)
        if depth > 0:
            subj = ("Re: " if depth % 2 else "Fwd: ") + subj
        t = 1700000000 + ((i * 7919) % n) * 60
        zone = ZONES[i % len(ZONES)]
        sign = -1 if zone[0] == "-" else 1
        off = sign * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
        date = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(t + off))
        head = ("From: %s <%s@example.%s>\r\nTo: %s\r\nSubject: %s\r\n"
                "Date: %s %s\r\nMessage-ID: <m%d.t%d@bench.test>\r\n" %
                (who.title(), who, ("org", "net", "com")[i % 3], ADDR,
                 subj, date, zone, depth, thread))
        if depth > 0:
            refs = " ".join("<m%d.t%d@bench.test>" % (d, thread)
                            for d in range(depth))
            head += "References: %s\r\nIn-Reply-To: <m%d.t%d@bench.test>\r\n" \
                % (refs, depth - 1, thread)
        body = "Message %d of thread %d.\r\n" % (i, thread) + \
            "x" * ((i * 37) % 2000) + "\r\n"
        out.append((head + "\r\n" + body).encode())
    return out


def fill_maildir(root, box, msgs, uid, gid):
    md = os.path.join(root, "." + box)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    for i, data in enumerate(msgs):
        name = "%d.M%dP1.bench:2,S" % (1700000000 + i, i)
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (1700000000 + i, 1700000000 + i))
    subprocess.run(["chown", "-R", "%d:%d" % (uid, gid), md], check=True)


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def timed(c, line):
    t0 = time.perf_counter()
    out = c.cmd(line)
    return (time.perf_counter() - t0) * 1000.0, out


def measure(port, ctx, user, pw, box):
    """{name: (first ms, repeated ms, load)} and the answers."""
    res, answers = {}, {}
    c = scale.Client(port, ctx)
    c.cmd('LOGIN %s "%s"' % (user, pw))
    c.cmd("SELECT %s" % box)
    for name, line in CMDS:
        load = loadavg()
        first, out = timed(c, line)
        rep = statistics.median(timed(c, line)[0] for _ in range(REPS))
        res[name] = (first, rep, load)
        answers[name] = b"".join(out)
    c.close()
    return res, answers


def bystander(port, ctx, user, pw, box, line):
    """NOOP p50/p99 beside a first and repeated line (SORT, THREAD)."""
    by = iso.Bystander(port, ctx, user, pw)
    c = scale.Client(port, ctx)
    c.cmd('LOGIN %s "%s"' % (user, pw))
    c.cmd("SELECT %s" % box)
    load = loadavg()
    by.start()
    for _ in range(REPS + 1):
        c.cmd(line)
    p50, p99, n = by.stop()
    c.close()
    by.c.close()
    return p50, p99, n, load


def ratio(g, d):
    return g / d if d else 0.0


def main():
    md = scale.mime_dovecot()
    fill = os.path.join(BUILDDIR, "tests", "gb-fill")
    tmp, gb = scale.bench_setup(
        "sort", "SORT and THREAD by mailbox size, guestbox-imapd vs "
        "Dovecot", "sizes %s, %d rounds, repeated = median of %d" %
        (" ".join(str(s) for s in SIZES), ROUNDS, REPS))
    dv = None
    try:
        gb.create(ADDR)
        boxes = {}
        t0 = time.time()
        for n in SIZES:
            msgs = messages(n)
            d = os.path.join(tmp, "msgs-%d" % n)
            os.makedirs(d)
            files = []
            for i, data in enumerate(msgs):
                files.append(os.path.join(d, "%06d" % i))
                with open(files[-1], "wb") as f:
                    f.write(data)
            # In batches: 100,000 names are past the argument limit.
            for b in range(0, n, 10000):
                batch = files[b:b + 10000]
                gb._run([fill, gb.conf, ADDR, "S%d" % n, str(len(batch)),
                         "0"] + batch, demote=True)
            boxes[n] = msgs
        print("   guestbox: %d messages sealed in %.1f s" %
              (sum(SIZES), time.time() - t0))
        gb.start()
        dovecot, conf, dv_port, uid, gid = scale.start_dovecot(
            md, tmp, gb.cert, gb.key)
        md.fill_maildir(tmp, [], uid, gid)
        for n in SIZES:
            fill_maildir(os.path.join(tmp, "Maildir"), "S%d" % n, boxes[n],
                         uid, gid)
        dv = scale.run_dovecot(dovecot, conf, dv_port)
        ctx = ssl.create_default_context(cafile=gb.cert)
        servers = (("guestbox", gb.port_tls, ADDR, PASSWORD),
                   ("dovecot", dv_port, "test", "pass"))
        scale.first_selects(servers, ctx, ["S%d" % n for n in SIZES])
        results = {}
        for r in range(1, ROUNDS + 1):
            print("\n-- round %d, load average %s" % (r, " ".join(
                open("/proc/loadavg").read().split()[:3])))
            print("   %-6s %-9s %11s %11s %6s | %11s %11s %6s | %5s" % (
                "msgs", "command", "gb first", "dv first", "ratio",
                "gb again", "dv again", "ratio", "load"))
            order = servers if r % 2 else tuple(reversed(servers))
            for n in SIZES:
                got, ans = {}, {}
                for name, port, user, pw in order:
                    got[name], ans[name] = measure(port, ctx, user, pw,
                                                   "S%d" % n)
                for name, _ in CMDS:
                    g, d = got["guestbox"][name], got["dovecot"][name]
                    results.setdefault((n, name), []).append((g, d))
                    print("   %-6d %-9s %9.1fms %9.1fms %5.1fx | %9.1fms "
                          "%9.1fms %5.1fx | %s/%s" % (
                              n, name, g[0], d[0], ratio(g[0], d[0]),
                              g[1], d[1], ratio(g[1], d[1]), g[2], d[2]))
                    ga = ans["guestbox"][name]
                    print("          answer sha1 %s, %s Dovecot's" % (
                        hashlib.sha1(ga).hexdigest()[:12],
                        "the same as" if ga == ans["dovecot"][name] else
                        "not"))
            n = max(SIZES)
            for what in BYSTANDER:
                for name, port, user, pw in order:
                    p = bystander(port, ctx, user, pw, "S%d" % n,
                                  ALLCMDS[what])
                    results.setdefault(("noop", what, name), []).append(p)
                    print("   bystander NOOP beside %s of %d, %-8s p50 %.1f "
                          "ms p99 %.1f ms (%d NOOPs, load %s)" % (
                              (what, n, name) + p))
        print("\n== median over the rounds (ms; ratio guestbox/Dovecot)")
        for n in SIZES:
            for name, _ in CMDS:
                v = results[(n, name)]
                gf = statistics.median(x[0][0] for x in v)
                df = statistics.median(x[1][0] for x in v)
                ga = statistics.median(x[0][1] for x in v)
                da = statistics.median(x[1][1] for x in v)
                print("RESULT messages=%d cmd=%s first_guestbox=%.1f "
                      "first_dovecot=%.1f first_ratio=%.2f "
                      "again_guestbox=%.1f again_dovecot=%.1f "
                      "again_ratio=%.2f" % (n, name, gf, df, ratio(gf, df),
                                            ga, da, ratio(ga, da)))
        for what in BYSTANDER:
            gp = [statistics.median(x[i] for x in results[
                ("noop", what, "guestbox")]) for i in (0, 1)]
            dp = [statistics.median(x[i] for x in results[
                ("noop", what, "dovecot")]) for i in (0, 1)]
            print("RESULT bystander_noop beside=%s messages=%d "
                  "guestbox_p50=%.1f guestbox_p99=%.1f dovecot_p50=%.1f "
                  "dovecot_p99=%.1f ratio_p99=%.2f" % (
                      what, max(SIZES), gp[0], gp[1], dp[0], dp[1],
                      ratio(gp[1], dp[1])))
        print("   load average at the end: %s" %
              " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        scale.stop(dv)
        gb.cleanup()
        if os.environ.get("BENCH_KEEP"):
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
