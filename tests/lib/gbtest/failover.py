# tests/lib/gbtest/failover.py: a numbered stream of LMTP deliveries to a
# replication group while its master is killed (issue 15), for
# tests/repl.test and bench/bench-repl.py.
#
# Stream: a few threads, each with its own LMTP session, deliver
# message(n) for n = first, first + 1, ... to the site that last answered
# 250 (the service address); a refusal or a dead connection moves the
# thread on to the next site, as a moved service address would.  Each
# message goes into a Ledger when it is sent and is settled by its
# answer:
#   - 250: acknowledged, in INBOX (committed on a quorum of sites);
#   - 451 to RCPT: refused before anything was written, absent;
#   - 451 after DATA, or no answer: unknown, present at most once (a
#     commit that the quorum did not acknowledge in time is in the local
#     log and may survive).  A standby's refusal comes after DATA too,
#     with the same text (submitd/lmtp.c), so it counts as unknown.
# A number is never sent twice, so a message found twice is a duplicate
# made by guestbox, not by a retry.
#
# kill_master() is one failover: the master's processes are SIGKILLed in
# a random order at a random moment of the stream; its time is from the
# first kill to the first 250 from another site; then the killed site is
# started again and rejoins as a client.

import smtplib
import threading
import time

from .env import TestFailure, message
from .ledger import ABSENT, Ledger

# Trouble on the connection: the site died, or is not up yet.
TROUBLE = (OSError, EOFError, smtplib.SMTPServerDisconnected,
           smtplib.SMTPConnectError, smtplib.SMTPResponseException)


class Stream:
    """clients threads delivering to account on sites, from number
    first; the ledger is keyed by message number."""

    def __init__(self, sites, account, first, clients=3, ledger=None):
        self.sites = list(sites)
        self.account = account
        self.ledger = ledger if ledger is not None else Ledger()
        self.clients = clients
        self.lock = threading.Lock()
        self.next = first
        self.end = None         # the first number not to send
        self.target = 0
        self.acks = []          # (time, site number) of every 250
        self.stopped = threading.Event()
        self.paused = threading.Event()
        self.threads = []

    def start(self, target=None, limit=None):
        """Delivers until stop(), or limit messages (then wait())."""
        if target is not None:
            self.target = self.sites.index(target)
        self.end = None if limit is None else self.next + limit
        self.stopped.clear()
        self.threads = [threading.Thread(target=self._run, daemon=True,
                                         name="lmtp%d" % i)
                        for i in range(self.clients)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopped.set()
        self.wait()

    def wait(self):
        for t in self.threads:
            t.join(120)
            if t.is_alive():
                raise TestFailure("LMTP client %s did not finish" % t.name)
        self.threads = []

    def _number(self):
        """The next number to send, or None after the limit."""
        with self.lock:
            if self.end is not None and self.next >= self.end:
                return None
            n = self.next
            self.next += 1
            return n

    def _move_on(self, i):
        """Site index i refused or died: the next site, if i was it."""
        with self.lock:
            if self.target == i:
                self.target = (i + 1) % len(self.sites)

    def _run(self):
        c, at = None, None
        while not self.stopped.is_set():
            with self.lock:
                i = self.target
            site = self.sites[i]
            try:
                if c is None or at != i:
                    c = close(c)
                    c, at = site.lmtp(timeout=30), i
                if (n := self._number()) is None:
                    break
                self.ledger.new(n, self.account, "lmtp", {"INBOX"})
                c.sendmail("home@home.test", [self.account], message(n))
                self.ledger.settle(n, {"INBOX"}, acked=True)
                with self.lock:
                    self.acks.append((time.time(), site.n))
                self.ledger.count("250")
            except smtplib.SMTPRecipientsRefused as e:
                code, text = list(e.recipients.values())[0]
                if code != 451:
                    self.ledger.problem("site %d: RCPT %d %s" % (
                        site.n, code, text))
                self.ledger.settle(n, {ABSENT})
                self.ledger.count("451 to RCPT")
                c = close(c)
                self._move_on(i)
                time.sleep(0.02)
            except smtplib.SMTPDataError as e:
                if e.smtp_code != 451:
                    self.ledger.problem("site %d: DATA %d %s" % (
                        site.n, e.smtp_code, e.smtp_error))
                self.ledger.count("451 after DATA")
                c = close(c)
                self._move_on(i)
            except TROUBLE:
                self.ledger.count("no answer")
                c = close(c)
                self._move_on(i)
                time.sleep(0.05)
        close(c)

    def first_ack(self, since, not_site):
        """(time, site number) of the first 250 after since from a site
        other than not_site, or None."""
        with self.lock:
            for t, n in self.acks:
                if t >= since and n != not_site:
                    return t, n
        return None

    def acked(self):
        with self.ledger.lock:
            return sorted(k for k, m in self.ledger.msgs.items()
                          if m["acked"])


def close(c):
    if c is not None:
        try:
            c.close()
        except OSError:
            pass
    return None


def kill_master(sites, master, stream, rng, timeout=120):
    """One failover: SIGKILLs every process of master in a random order,
    at a random moment of the stream; returns (seconds from the first
    kill to the first 250 from another site, that site).  The killed
    site is started again and rejoins as a client before it returns."""
    time.sleep(rng.uniform(0.3, 1.5))
    order = ["imapd", "submitd", "repld"]
    rng.shuffle(order)
    t0 = time.time()
    for which in order:
        master.kill_all(only=(which,))
        time.sleep(rng.uniform(0, 0.05))
    deadline = t0 + timeout
    while (first := stream.first_ack(t0, master.n)) is None:
        if time.time() > deadline:
            raise TestFailure("no 250 from another site %d s after site "
                              "%d was killed" % (timeout, master.n))
        time.sleep(0.05)
    new = next(s for s in sites if s.n == first[1])
    master.start_repld()
    master.start()
    return first[0] - t0, new


def holds(stream, site, t, what):
    """Checks with the Checker t that site has every acknowledged message
    of the stream once, any other at most once, and nothing else; returns
    the numbers it has."""
    got = site.inbox(stream.account)
    found = {}
    for n in got:
        found.setdefault(n, []).append(site.n)
    nacked, once = stream.ledger.census(found, t, "on site %d" % site.n)
    print("# site %d %s: %d acknowledged, %d unacknowledged there too "
          "(of %d)" % (site.n, what, nacked, len(once) - nacked,
                       sum(1 for m in stream.ledger.msgs.values()
                           if not m["acked"] and ABSENT in m["where"] and
                           len(m["where"]) > 1)))
    t.eq(nacked, len(stream.acked()), "every acknowledged message (%d) is "
         "on site %d %s, once" % (nacked, site.n, what))
    return sorted(got)


def wait_caught_up(stream, sites, timeout=300):
    """Until every site has every acknowledged message of the stream."""
    want = set(stream.acked())
    deadline = time.time() + timeout
    for s in sites:
        while not want <= set(s.inbox(stream.account)):
            if time.time() > deadline:
                raise TestFailure("site %d did not catch up in %d s" % (
                    s.n, timeout))
            time.sleep(0.5)

