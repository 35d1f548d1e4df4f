# tests/lib/gbtest/repl.py: one site of a Berkeley DB replication group
# (issue 15) for tests/repl.test and bench/bench-repl.py: a Stack with the
# repl_* keys, its guestbox-repld, and what a test asks of a site (its
# role, an LMTP delivery that says 250 or 451, the numbers in INBOX).

import os
import re
import shutil
import signal
import smtplib

from .daemons import Daemon
from .env import BUILDDIR, TestFailure, message
from .stack import Stack

MSGID_RE = re.compile(rb"<msg(\d+)\.")


class ReplSite(Stack):
    """Site n (from 0) of a group whose repl_site ports are ports;
    account: the mailbox deliver_lmtp() and inbox() use."""

    def __init__(self, n, ports, account, wait=120, extra=(), peers=None,
                 ack_timeout="10s"):
        """peers: the ports of repl_peers, if not every other one of
        ports (a site added later, which the others' repl_peers lack);
        ack_timeout: repl_ack_timeout."""
        me = ports[n]
        if peers is None:
            peers = [p for i, p in enumerate(ports) if i != n]
        extra = ["repl_site = 127.0.0.1:%d" % me,
                 "repl_ack_timeout = %s" % ack_timeout] + ([
                     "repl_peers = %s" % " ".join(
                         "127.0.0.1:%d" % p for p in peers)]
                     if peers else []) + list(extra)
        if n == 0:
            extra.append("repl_group_creator = yes")
        super().__init__("repl%d" % (n + 1), extra_conf=extra)
        self.repl_port = me
        self.n = n + 1
        self.repld = None
        self.account = account
        self.wait = wait

    def start_repld(self):
        log = os.path.join(self.tmp, "repld.log")
        self.logs["repld"] = log
        self.repld = Daemon("repld%d" % self.n, [
            os.path.join(BUILDDIR, "guestbox-repld"), "-d", "-c", self.conf],
            log)
        self.procs["repld"] = self.repld.start(
            log_line=r"guestbox-repld .* started", timeout=self.wait)

    def seed_from(self, master):
        """A new site: no environment of its own.  Internal
        initialization brings the master's, and with it the index key,
        the erase keys and the correspondents' keys, which all live in
        the environment."""
        shutil.rmtree(os.path.join(self.state, "db"), ignore_errors=True)
        owner = os.stat(master.state)
        for d, _, files in os.walk(self.state):
            for f in [d] + [os.path.join(d, f) for f in files]:
                os.chown(f, owner.st_uid, owner.st_gid)

    def kill_all(self, only=("imapd", "submitd", "repld")):
        """SIGKILLs the site's processes (those named in only)."""
        for which in only:
            p = self.procs.get(which)
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def role(self):
        r = self.gp("repl", check=False)
        out = r.stdout.decode(errors="replace")
        m = re.search(r"^role: (\w+)", out, re.M)
        return m.group(1) if m else "?"

    def deliver_lmtp(self, n):
        """True for a 250, False for a 4xx; raises on anything else."""
        c = self.lmtp(timeout=60)
        try:
            c.sendmail("home@home.test", [self.account], message(n))
            return True
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            if code == 451 and b"4.3.0" in text:
                return False
            raise TestFailure("site %d: LMTP %d %s" % (self.n, code, text))
        except smtplib.SMTPDataError as e:
            if e.smtp_code == 451:
                return False
            raise
        finally:
            try:
                c.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def inbox(self, account=None):
        """Message numbers in INBOX (of account, by default the site's),
        as a list (duplicates kept)."""
        M = self.login(account or self.account)
        try:
            typ, data = M.select("INBOX", readonly=True)
            if typ != "OK":
                raise TestFailure("site %d: SELECT: %r" % (self.n, data))
            if int(data[0]) == 0:
                return []
            typ, data = M.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS "
                                "(MESSAGE-ID)])")
            if typ != "OK":
                raise TestFailure("site %d: FETCH: %r" % (self.n, data))
            return [int(m.group(1)) for part in data
                    if isinstance(part, tuple)
                    for m in [MSGID_RE.search(part[1])] if m]
        finally:
            M.logout()

    def addr(self):
        """This site's repl_site, host:port."""
        return "127.0.0.1:%d" % self.repl_port

    def members(self):
        """The other members of the group as `repl' shows them here:
        {host:port: "connected" or "disconnected"}."""
        out = self.gp("repl", check=False).stdout.decode(errors="replace")
        return dict(m.groups() for m in re.finditer(
            r"^peer: (\S+) (connected|disconnected)", out, re.M))

    def stop_all(self, sig=signal.SIGSTOP):
        """SIGSTOP (or SIGCONT) to every process of the site: a site cut
        off from the others, whose processes and state stay as they are."""
        for which in ("imapd", "submitd", "repld"):
            p = self.procs.get(which)
            if p is not None and p.poll() is None:
                os.kill(p.pid, sig)

    def cleanup(self, failed=False):
        """Also a guestbox-repld whose start failed (it waited for a group
        that never formed): Stack.cleanup knows only those that started."""
        if self.repld is not None and self.repld.alive() and \
                "repld" not in self.procs:
            os.killpg(self.repld.pid, signal.SIGKILL)
            self.repld.proc.wait()
        super().cleanup(failed)
