# tests/lib/gbtest/stack.py: guestbox-imapd and guestbox-submitd together,
# with a smarthost (tests/lib/smarthost.py), for the hardening tests
# (crash.test, diskfull.test, resources.test, the abuse-* tests).
#
# Stack extends GuestboxServer: the same throwaway state directory,
# certificate and sender key, plus submission (implicit TLS), LMTP on
# loopback TCP and the relay to the smarthost.  Mailboxes are created with
# a second configuration without the smarthost, so that create prints the
# link instead of mailing it.  Every process it starts is kept by PID and
# ended by cleanup(), however the test ends.

import json
import re
import os
import resource
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys

from .daemons import Daemon, read_text
from .env import BUILDDIR, PASSWORD, SRCDIR, sanitizer_lines
from .net import quiet_port
from .server import GuestboxServer

DAEMONS = ("imapd", "submitd")
# What a daemon logs before it exits to have its environment recovered
# (store/store-env.c, store_watchdog_stuck); it exits with EX_TEMPFAIL.
RECOVERY_EXIT = "exiting so that a restart recovers it"


def libdb_fault(rc, text):
    """Berkeley DB 5.3's lock detector (__lock_detect) faulting on a
    corrupt lock region: two failchk at once, cleaning up after the same
    dead process, freed its lockers and locks twice.  One failchk runs at
    a time now (store-env.c, store_env_failchk_begin); the kill tests
    still tell this death from others.  Plainly that is SIGSEGV or
    SIGBUS; under ASan (abort_on_error) SIGABRT after a SEGV or BUS
    report whose first frame is in Berkeley DB.  text: what the process
    wrote last."""
    if rc in (-signal.SIGSEGV, -signal.SIGBUS):
        return True
    if rc != -signal.SIGABRT:
        return False
    if "AddressSanitizer: SEGV" not in text and \
            "AddressSanitizer: BUS" not in text:
        return False
    frame0 = [ln for ln in text.splitlines() if ln.strip().startswith("#0 ")]
    return bool(frame0) and "libdb-5.3" in frame0[0]


def daemon_libdb_fault(rc, text):
    """libdb_fault() of a daemon, or of one of its worker processes: the
    supervisor of imapd's workers stops when a worker dies before any
    served, and says of what signal (daemon/workers.c)."""
    m = re.search(r"failed to start \(signal (\d+)\)", text)
    if m:
        return libdb_fault(-int(m.group(1)), text)
    return libdb_fault(rc, text)
EX_TEMPFAIL = 75
SMARTHOST = os.path.join(SRCDIR, "tests", "lib", "smarthost.py")


class Stack(GuestboxServer):
    def __init__(self, name, extra_conf=(), state_dir=None):
        self.port_sub = quiet_port()
        self.port_lmtp = quiet_port()
        self.port_sink = quiet_port()
        self.procs = {}
        self.logs = {}
        self.sink = None
        self.sink_dir = None
        self.external_state = state_dir
        super().__init__(name=name, extra_conf=extra_conf)
        self.port_tls = quiet_port()
        self.port_starttls = quiet_port()
        self.write_conf()
        self.recoveries = {d: 0 for d in DAEMONS}
        self.submitd = os.path.join(BUILDDIR, "guestbox-submitd")
        self.sink_dir = os.path.join(self.tmp, "sink")
        os.mkdir(self.sink_dir)

    def write_conf(self, extra=()):
        if self.external_state is not None:
            self.state = self.external_state
        super().write_conf(extra)
        base = open(self.conf).read()
        self.conf_admin = os.path.join(self.tmp, "admin.conf")
        with open(self.conf_admin, "w") as f:
            f.write(base + "hostname = guestbox.test\n")
        with open(self.conf, "a") as f:
            f.write("hostname = guestbox.test\n"
                    "submission_listen = 127.0.0.1:%d tls\n"
                    "lmtp_listen = 127.0.0.1:%d plain\n"
                    "smarthost = 127.0.0.1:%d\n"
                    "smarthost_ca = %s\n" % (self.port_sub, self.port_lmtp,
                                             self.port_sink, self.cert))

    def gp(self, *args, stdin=None, check=True):
        return self._run([self.provision, "-c", self.conf_admin] + list(args),
                         stdin=stdin, check=check, demote=True)

    # -- processes ---------------------------------------------------------
    def _ports(self, which):
        return {"imapd": (self.port_tls,), "submitd": (self.port_sub,
                                                       self.port_lmtp),
                "sink": (self.port_sink,)}[which]

    def start_daemon(self, which, wait=True, env=None, nofile=None):
        """nofile: the daemon's limit of open files."""
        prog = self.imapd if which == "imapd" else self.submitd
        if which not in self.logs:
            self.logs[which] = os.path.join(self.tmp, "%s.log" % which)

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        # A sanitizer build: what Berkeley DB leaves when a daemon lives
        # through another's crash is not a leak of ours.
        env = dict(os.environ if env is None else env)
        env["LSAN_OPTIONS"] = ":".join(filter(None, (
            env.get("LSAN_OPTIONS"), "suppressions=" + os.path.join(
                os.path.abspath(SRCDIR), "tests", "lsan-bdb-panic.supp"))))
        d = Daemon(which, [prog, "-d", "-c", self.conf], self.logs[which],
                   env=env, preexec_fn=limit)
        p = d.start(self._ports(which) if wait else ())
        self.procs[which] = p
        return p

    def start(self, argv_extra=(), env=None):
        for d in DAEMONS:
            self.start_daemon(d, env=env)

    def kill(self, which, sig=signal.SIGKILL):
        p = self.procs.get(which)
        if p is None or p.poll() is not None:
            return None
        # Its whole process group (start_new_session), as systemd kills
        # the unit's cgroup: a gpg that GPGME had forked but not yet
        # exec'd holds our listening sockets, and the restart that
        # follows could not bind them ("Address already in use").
        if sig == signal.SIGKILL:
            os.killpg(p.pid, sig)
        else:
            os.kill(p.pid, sig)
        return p.wait()

    def stop_daemon(self, which, timeout=30):
        """SIGTERM; the exit status, or None after a SIGKILL."""
        p = self.procs.pop(which, None)
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        os.kill(p.pid, signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            print("# %s did not stop on SIGTERM:" % which)
            self.backtrace(p.pid)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            return None

    @staticmethod
    def backtrace(pid):
        """Prints every thread's stack of a stuck daemon, if gdb is there."""
        if shutil.which("gdb") is None:
            return
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                            "thread apply all bt"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        for line in r.stdout.decode(errors="replace").splitlines():
            if line.startswith(("#", "Thread")):
                print("#   " + line)

    def revive(self, which):
        """Restarts a daemon that left to have the environment recovered,
        as systemd's Restart=on-failure does; None if it is running, else
        a text saying why it is not (it died some other way)."""
        p = self.procs.get(which)
        if p is None or p.poll() is None:
            return None
        log = self.read_log_of(which)
        tail = "\n".join(log.splitlines()[-30:])
        if p.returncode != EX_TEMPFAIL or RECOVERY_EXIT not in log.split(
                "started")[-1]:
            return "%s exited with %s:\n%s" % (which, p.returncode, tail)
        self.recoveries[which] += 1
        self.start_daemon(which)
        return None

    def alive(self, which="imapd"):
        p = self.procs.get(which)
        return p is not None and p.poll() is None

    def pid(self, which):
        return self.procs[which].pid

    def read_log_of(self, which):
        return read_text(self.logs.get(which, "/nonexistent"))

    def sanitizer_reports(self, faults=0):
        """Sanitizer reports in the daemons' logs, less one SEGV or BUS
        report for each of faults daemon_libdb_fault() deaths."""
        reports = ["%s: %s" % (which, line) for which in self.logs
                   for line in sanitizer_lines(self.read_log_of(which))
                   if "SUMMARY:" not in line]
        for _ in range(faults):
            for r in reports:
                if re.search(r"ERROR: AddressSanitizer: (SEGV|BUS)", r):
                    reports.remove(r)
                    break
        return reports

    # -- the smarthost -----------------------------------------------------
    def sink_mode(self, **mode):
        path = os.path.join(self.sink_dir, "mode.json")
        with open(path + ".tmp", "w") as f:
            json.dump(mode, f)
        os.rename(path + ".tmp", path)

    def start_sink(self):
        self.sink = Daemon("sink", [
            sys.executable, SMARTHOST, "--port", str(self.port_sink),
            "--cert", self.cert, "--key", self.key, "--dir", self.sink_dir,
            ], os.path.join(self.tmp, "sink.log"))
        self.sink.start(self._ports("sink"))

    def stop_sink(self):
        if self.sink is not None:
            self.sink.stop()
        self.sink = None

    def sink_events(self):
        try:
            with open(os.path.join(self.sink_dir, "events.jsonl")) as f:
                return [json.loads(l) for l in f if l.endswith("\n")]
        except OSError:
            return []

    # -- clients -----------------------------------------------------------
    def lmtp(self, timeout=30):
        c = smtplib.LMTP("127.0.0.1", self.port_lmtp, timeout=timeout)
        return c

    def submission(self, address, password=PASSWORD, timeout=30):
        ctx = ssl.create_default_context(cafile=self.cert)
        c = smtplib.SMTP_SSL("127.0.0.1", self.port_sub, context=ctx,
                             timeout=timeout)
        c.ehlo("client.test")
        c.login(address, password)
        return c

    def check_store(self):
        """guestbox-provision check: (exit status, output)."""
        r = self.gp("check", check=False)
        return r.returncode, (r.stdout + r.stderr).decode(errors="replace")

    def cleanup(self, failed=False):
        for which in list(self.procs):
            p = self.procs.pop(which)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        self.stop_sink()
        super().cleanup(failed)
