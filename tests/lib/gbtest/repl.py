# tests/lib/gbtest/repl.py: one site of a Berkeley DB replication group
# (issue 15) for tests/repl.test and bench/bench-repl.py: a Stack with the
# repl_* keys, its guestbox-repld, and what a test asks of a site (its
# role, an LMTP delivery that says 250 or 451, the numbers in INBOX).

import http.client
import os
import re
import shutil
import signal
import smtplib
import ssl
import time
import urllib.parse

from .daemons import Daemon
from .env import BUILDDIR, PASSWORD, TestFailure, message
from .net import quiet_port
from .stack import Stack

MSGID_RE = re.compile(rb"<msg(\d+)\.")


def wait_for(what, fn, timeout=120):
    """fn()'s first true value, asked twice a second; a TestFailure
    after timeout seconds (an election or a catching up on a loaded
    machine)."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise TestFailure("timed out waiting for %s" % what)
        time.sleep(0.5)


def make_group(account, wait=120, extra=(), extra_of=None):
    """Three ReplSites whose ports are all distinct: each port is picked
    free, but nothing binds it before the next pick.  extra_of(n): more
    configuration lines for site n (from 0)."""
    for _ in range(5):
        ports = [quiet_port() for _ in range(3)]
        sites = [ReplSite(n, ports, account, wait=wait, extra=list(extra) +
                          list(extra_of(n) if extra_of else ()))
                 for n in range(3)]
        used = ports + [p for s in sites for p in (
            s.port_tls, s.port_starttls, s.port_sub, s.port_lmtp,
            s.port_sink, s.port_bootstrap)]
        if len(set(used)) == len(used):
            return sites
        for s in sites:
            s.cleanup()
    raise TestFailure("no three sites with distinct ports")


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
        self.port_bootstrap = quiet_port()
        self.frozen = False

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

    # -- a split, as a site that stops moving -----------------------------
    def freeze(self):
        """SIGSTOP to every process of the site: its sockets stay open,
        so its peers see no reset, only silence."""
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGCONT)
        self.frozen = False

    def log_end(self):
        """"file/offset" of the end of the site's log (`repl`), or None."""
        r = self.gp("repl", check=False)
        m = re.search(r"^log end: (\d+/\d+)$", r.stdout.decode(
            errors="replace"), re.M)
        return m.group(1) if m else None

    def cleanup(self, failed=False):
        """Also a guestbox-repld whose start failed (it waited for a group
        that never formed): Stack.cleanup knows only those that started.
        A stopped process would not die of the SIGKILL until continued."""
        if self.frozen:
            self.thaw()
        if self.repld is not None and self.repld.alive() and \
                "repld" not in self.procs:
            os.killpg(self.repld.pid, signal.SIGKILL)
            self.repld.proc.wait()
        super().cleanup(failed)

    # -- the bootstrap page -----------------------------------------------
    def start_bootstrapd(self):
        """guestbox-bootstrapd on port_bootstrap (TLS), as procs
        ["bootstrapd"]; the links that create prints point elsewhere
        (public_url), so bootstrap_password() takes their path only."""
        with open(self.conf, "a") as f:
            f.write("bootstrap_listen = 127.0.0.1:%d tls\n"
                    "bootstrap_rate = 100000\n" % self.port_bootstrap)
        log = os.path.join(self.tmp, "bootstrapd.log")
        self.logs["bootstrapd"] = log
        d = Daemon("bootstrapd%d" % self.n, [
            os.path.join(BUILDDIR, "guestbox-bootstrapd"), "-d", "-c",
            self.conf], log)
        self.procs["bootstrapd"] = d.start((self.port_bootstrap,),
                                           timeout=self.wait)

    def _https(self, method, path, cookies, body=None):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", self.port_bootstrap,
                                        context=ctx, timeout=120)
        headers = {}
        if cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv
                                          for kv in cookies.items())
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            text = r.read().decode(errors="replace")
            for k, v in r.getheaders():
                if k.lower() == "set-cookie":
                    name, _, rest = v.partition("=")
                    cookies[name.strip()] = rest.split(";")[0]
            return r.status, r.getheader("Location"), text
        finally:
            c.close()

    def bootstrap_password(self, link, password=PASSWORD):
        """The invitation link's flow on the bootstrap page, without a
        PIN: opens it, then posts the password.  (status, page) of the
        answer to the post."""
        cookies = {}
        path = urllib.parse.urlsplit(link).path
        status, where, text = self._https("GET", path, cookies)
        for _ in range(5):
            if status not in (302, 303) or where is None:
                break
            status, where, text = self._https(
                "GET", urllib.parse.urlsplit(where).path, cookies)
        m = re.search(r'name="csrf" value="([^"]*)"', text)
        if status != 200 or m is None or 'name="password"' not in text:
            raise TestFailure("site %d: no password form: %d %s" % (
                self.n, status, text[:300]))
        status, where, text = self._https(
            "POST", "/password", cookies, {"csrf": m.group(1),
                                           "password": password,
                                           "password2": password})
        return status, text
