# tests/lib/gbtest/server.py: a throwaway guestbox with a running
# guestbox-imapd for the end-to-end IMAP tests.
#
# GuestboxServer makes a temporary directory, a self-signed certificate,
# guestbox.conf with cheap Argon2 parameters, a sender key, and on demand
# mailboxes (created, filled with guestbox-provision deliver and activated
# with tests/gb-activate).  start() runs guestbox-imapd -d on two loopback
# ports chosen at run time (implicit TLS and STARTTLS); stop() ends it by
# its PID with SIGTERM and fails if it does not exit cleanly.  Use it as a
# context manager so everything is torn down however the test ends.
# KEEP_TMP=1 keeps the directory of a failed run.

import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile

from .daemons import Daemon, read_text
from .env import BUILDDIR, PASSWORD, TestFailure
from .net import free_port
from . import setup


class GuestboxServer:
    def __init__(self, name="imapd", extra_conf=(), sanitizer_log=None):
        self.name = name
        self.extra_conf = list(extra_conf)
        self.tmp = tempfile.mkdtemp(prefix="guestbox-%s." % name)
        os.chmod(self.tmp, 0o755)
        self.proc = None
        self.daemon = None
        self.logfile = os.path.join(self.tmp, "imapd.log")
        self.provision = os.path.join(BUILDDIR, "guestbox-provision")
        self.imapd = os.path.join(BUILDDIR, "guestbox-imapd")
        self.activate = os.path.join(BUILDDIR, "tests", "gb-activate")
        for p in (self.provision, self.imapd, self.activate):
            if not os.access(p, os.X_OK):
                raise TestFailure("%s has not been built" % p)
        self.root = os.geteuid() == 0
        self.user = "nobody" if self.root else pwd.getpwuid(os.geteuid()).pw_name
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state, 0o700)
        if self.root:
            pw = pwd.getpwnam("nobody")
            os.chown(self.state, pw.pw_uid, pw.pw_gid)
        self.port_tls = free_port()
        self.port_starttls = free_port()
        self._make_cert()
        self._make_sender_key()
        self.write_conf()
        self.accounts = {}

    # -- set-up ---------------------------------------------------------
    def _run(self, argv, stdin=None, check=True, demote=False):
        return setup.run(argv, stdin=stdin, check=check,
                         preexec_fn=self._demote if demote else None)

    def _make_cert(self):
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        setup.make_cert(self.cert, self.key)

    def _make_sender_key(self):
        self.gnupg = os.path.join(self.tmp, "sender-gnupg")
        self.sender_key = os.path.join(self.tmp, "sender.asc")
        setup.gpg_key(self.gnupg, "Sender <sender@home.test>",
                      self.sender_key)

    def base_conf(self):
        return setup.base_conf(self.state, self.user, self.cert, self.key)

    def write_conf(self, extra=()):
        self.conf = os.path.join(self.tmp, "guestbox.conf")
        setup.write_conf(self.conf, self.base_conf() + [
            "imap_listen = 127.0.0.1:%d tls" % self.port_tls,
            "imap_listen = 127.0.0.1:%d starttls" % self.port_starttls,
        ] + self.extra_conf + list(extra))

    def _demote(self):
        if self.root:
            pw = pwd.getpwnam(self.user)
            os.setgroups([pw.pw_gid])
            os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
            os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)

    def gp(self, *args, stdin=None, check=True):
        # As root, guestbox-provision drops to the configured user and then
        # cannot open /dev/stdin (it is no longer dumpable), so run it as
        # that user from the start.
        return self._run([self.provision, "-c", self.conf] + list(args),
                         stdin=stdin, check=check, demote=True)

    def create(self, address, activate=True, password=PASSWORD):
        link = setup.create_mailbox(
            self.provision, self.conf, address, "sender@home.test",
            self.sender_key, self.activate if activate else None, password,
            preexec_fn=self._demote)
        self.accounts[address] = link
        return link

    def deliver(self, address, message):
        """Delivers message (bytes, str or a file name) as the LDA would.
        guestbox-provision re-opens /dev/stdin, and as a pipe made by
        another user that fails (EACCES), so standard input is a file."""
        if isinstance(message, str) and os.path.exists(message):
            path = message
        else:
            if isinstance(message, str):
                message = message.encode()
            path = os.path.join(self.tmp, "deliver.eml")
            with open(path, "wb") as f:
                f.write(message)
            os.chmod(path, 0o644)
        with open(path, "rb") as f:
            r = subprocess.run([self.provision, "-c", self.conf, "deliver",
                                "--recipient", address], stdin=f,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=self._demote)
        if r.returncode != 0:
            raise TestFailure("deliver to %s: exit %d: %s" % (
                address, r.returncode, r.stderr.decode(errors="replace")))

    # -- the daemon -------------------------------------------------------
    def start(self, argv_extra=(), env=None):
        self.daemon = Daemon("guestbox-imapd", [self.imapd, "-d", "-c",
                                                self.conf] + list(argv_extra),
                             self.logfile, env=env)
        self.proc = self.daemon.start((self.port_tls, self.port_starttls),
                                      timeout=20)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        return read_text(self.logfile)

    def stop(self, timeout=20):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        rc = self.daemon.stop(timeout)
        self.proc = None
        if self.daemon.sanitizer_report():
            print("# sanitizer report:\n" + "\n".join(
                "#   " + l for l in self.read_log().splitlines()[-80:]))
            return "sanitizer report"
        return rc

    def cleanup(self, failed=False):
        if self.proc is not None:
            self.stop()
        if failed and os.environ.get("KEEP_TMP"):
            print("# kept %s" % self.tmp)
            return
        setup.gpg_kill(self.gnupg)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, typ, val, tb):
        self.cleanup(failed=typ is not None)
        return False

    # -- clients ----------------------------------------------------------
    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def imaps(self, timeout=30):
        return imaplib.IMAP4_SSL("127.0.0.1", self.port_tls,
                                 ssl_context=self.ssl_context(),
                                 timeout=timeout)

    def imap_plain(self, timeout=30):
        return imaplib.IMAP4("127.0.0.1", self.port_starttls, timeout=timeout)

    def login(self, address, password=PASSWORD):
        M = self.imaps()
        M.login(address, password)
        return M

    def raw(self, tls=True, timeout=10):
        """A RawClient on the TLS port (or the plain STARTTLS port)."""
        if tls:
            s = socket.create_connection(("127.0.0.1", self.port_tls), timeout)
            s = self.ssl_context().wrap_socket(s, server_hostname="localhost")
        else:
            s = socket.create_connection(("127.0.0.1", self.port_starttls),
                                         timeout)
        return RawClient(s, self)


class RawClient:
    """Line-level IMAP for what imaplib cannot send: hostile input, exact
    responses, pipelining."""

    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.buf = b""
        self.ntag = 0
        self.greeting = self.readline()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            d = b""
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def response(self):
        """One response with its literals inlined."""
        cur = self.readline()
        while True:
            m = re.search(rb"\{(\d+)\}\r\n$", cur)
            if not m:
                return cur
            cur += self.read(int(m.group(1)))
            cur += self.readline()

    def tag(self):
        self.ntag += 1
        return "T%d" % self.ntag

    def command(self, cmd, tag=None):
        """Sends 'TAG cmd' and returns (untagged responses, tagged line)."""
        if tag is None:
            tag = self.tag()
        if isinstance(cmd, str):
            cmd = cmd.encode()
        self.send(tag.encode() + b" " + cmd + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        t = tag.encode() + b" "
        while True:
            r = self.response()
            if r.startswith(t):
                return untagged, r
            untagged.append(r)

    def closed(self, timeout=5):
        """True if the server closes the connection (any data before the
        close is kept in self.buf)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self._fill()
        except EOFError:
            return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def snapshot(M):
    """The server's view of an account through imaplib: folder ->
    {"uids": {uid: (flags, subject)}, "highestmodseq": n}."""
    out = {}
    typ, data = M.list('""', "*")
    for line in data:
        m = re.match(rb'^\(([^)]*)\) "/" (.*)$', line)
        name = m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        typ, st = M.status('"%s"' % name, "(HIGHESTMODSEQ MESSAGES)")
        hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", st[0]).group(1))
        M.select('"%s"' % name, readonly=True)
        uids = {}
        typ, data2 = M.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        for item in data2:
            if not isinstance(item, tuple):
                continue
            head, hdr = item
            uid = int(re.search(rb"UID (\d+)", head).group(1))
            flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).split())
            subj = re.sub(rb"^Subject: ?|\r\n", b"", hdr).decode(errors="replace")
            uids[uid] = (flags, subj)
        M.unselect()
        out[name] = {"uids": uids, "highestmodseq": hms}
    return out


def maildir_snapshot(root):
    """folder path -> sorted list of (subject, maildir flags)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(dirpath), root)
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                m = re.search(rb"^Subject: ?(.*?)\r?$", fh.read(), re.M)
            flags = f.split(":2,", 1)[1] if ":2," in f else ""
            out.setdefault(folder, []).append(
                ((m.group(1).decode(errors="replace") if m else ""), flags,
                 os.path.basename(dirpath), f))
    for k in out:
        out[k].sort()
    return out
