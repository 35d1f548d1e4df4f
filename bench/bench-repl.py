#!/usr/bin/env python3
# bench-repl.py: LMTP deliveries per second to the master of a three-site
# replication group (repl_ack_policy quorum, on loopback) against one site
# that does not replicate, and failover time: SIGKILL of every process of
# the master to the first 250 on the new master, median and max over
# BENCH_FAILOVERS (20) failovers (issue 15).
#
# Deliveries: BENCH_LMTP_MESSAGES (300) messages over BENCH_LMTP_CLIENTS
# (4) parallel LMTP connections, after 20 to warm up.  The failovers are
# those of tests/repl.test (gbtest/failover.py): under a stream over
# BENCH_LMTP_CLIENTS connections, every process of the master killed in
# a random order at a random moment (BENCH_SEED repeats them); after
# each the killed site is started again and rejoins as a client before
# the next.
#
# Usage (from the build directory): make bench-repl
# Everything it starts is ended by its PID, however it ends.

import os
import random
import statistics
import sys
import threading
import time

SRC = os.environ.get("srcdir", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from gbtest import ReplSite, Stack, TestFailure, message, quiet_port  # noqa: E402
from gbtest.failover import Stream, kill_master  # noqa: E402

ACCOUNT = "bench@guest.test"
MESSAGES = int(os.environ.get("BENCH_LMTP_MESSAGES", "300"))
CLIENTS = int(os.environ.get("BENCH_LMTP_CLIENTS", "4"))
FAILOVERS = int(os.environ.get("BENCH_FAILOVERS", "20"))


def rate(site, first):
    """Messages per second over CLIENTS connections; numbers from first."""
    todo = list(range(first, first + MESSAGES))
    lock = threading.Lock()
    failed = []

    def worker():
        c = site.lmtp(timeout=60)
        while True:
            with lock:
                if not todo:
                    break
                n = todo.pop()
            try:
                c.sendmail("home@home.test", [ACCOUNT], message(n))
            except Exception as e:  # counted, not retried
                failed.append(repr(e))
        c.quit()
    c = site.lmtp(timeout=60)
    for n in range(first - 20, first):
        c.sendmail("home@home.test", [ACCOUNT], message(n))
    c.quit()
    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.time() - t0
    if failed:
        raise TestFailure("%d deliveries failed: %s" % (len(failed),
                                                         failed[0]))
    return MESSAGES / dt


def main():
    print("# load average: %.1f %.1f %.1f" % os.getloadavg())
    single = Stack("bench-single")
    try:
        single.create(ACCOUNT)
        single.start()
        r1 = rate(single, 20)
    finally:
        single.cleanup()
    ports = [quiet_port() for _ in range(3)]
    sites = []
    try:
        for n in range(3):
            sites.append(ReplSite(n, ports, ACCOUNT))
        sites[0].start_repld()
        sites[0].create(ACCOUNT)
        for s in sites[1:]:
            s.seed_from(sites[0])
            s.start_repld()
        for s in sites:
            s.start()
        r3 = rate(sites[0], 20)
        print("LMTP msg/s: single site %.1f, quorum of 3 %.1f (%.0f%%)" % (
            r1, r3, 100 * r3 / r1))
        # The stream of tests/repl.test: BENCH_LMTP_CLIENTS sessions
        # deliver to whichever site answers 250 while the master's
        # processes are killed in a random order at a random moment.
        stream = Stream(sites, ACCOUNT, 100000, clients=CLIENTS)
        stream.start(target=sites[0])
        master, times, restarts = sites[0], [], 0
        rng = random.Random(os.environ.get("BENCH_SEED"))
        for i in range(FAILOVERS):
            # guestbox-repld's unit has Restart=always.
            for s in sites:
                if not s.alive("repld"):
                    restarts += 1
                    s.start_repld()
            try:
                dt, new = kill_master(sites, master, stream, rng)
            except TestFailure:
                for s in sites:
                    print("# site %d: %s" % (s.n, s.gp("repl", check=False)
                                             .stdout.decode()))
                    for line in s.read_log_of("repld").splitlines()[-15:]:
                        print("#   " + line)
                raise
            times.append(dt)
            print("# failover %d: %.2f s, site %d to site %d" % (
                i + 1, dt, master.n, new.n))
            sys.stdout.flush()
            master = new
        stream.stop()
        print("failover under load, kill to first 250: median %.2f s, max "
              "%.2f s (%d failovers, %d LMTP clients, %d restarts of a "
              "repld that left; %s)" % (
                  statistics.median(times), max(times), len(times),
                  CLIENTS, restarts, ", ".join("%s %d" % kv for kv in sorted(
                      stream.ledger.counts.items()))))
        print("# load average: %.1f %.1f %.1f" % os.getloadavg())
    finally:
        for s in sites:
            s.cleanup()
    return 0


sys.exit(main())
