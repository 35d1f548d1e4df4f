# tests/lib/gbtest/daemons.py: starting and stopping the daemons under
# test (and the fakes they talk to).  A daemon runs in its own session
# with its output appended to its log; it is ready when its ports accept
# connections or its log shows a line; it is stopped by PID with SIGTERM,
# and killed if it does not leave in time.

import os
import re
import signal
import subprocess
import time

from .env import TestFailure, sanitizer_lines
from .net import wait_listening


def read_text(path):
    """A log's text so far ("" if there is none yet)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def count_lines(path, regex):
    return len(re.findall(regex, read_text(path), re.M))


class Daemon:
    def __init__(self, name, argv, log, env=None, preexec_fn=None):
        self.name = name
        self.argv = list(argv)
        self.logfile = log
        self.env = env
        self.preexec_fn = preexec_fn
        self.proc = None

    def start(self, ports=(), log_line=None, timeout=30):
        """Runs the daemon; returns once every port in ports accepts and
        (if log_line is a regex) one more line of the log matches it than
        before the start.  A daemon that dies or is late fails the test."""
        seen = count_lines(self.logfile, log_line) if log_line else 0
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log,
                                         env=self.env,
                                         start_new_session=True,
                                         preexec_fn=self.preexec_fn)
        ok = wait_listening(ports, self.alive, timeout)
        deadline = time.time() + timeout
        while ok and log_line and \
                count_lines(self.logfile, log_line) <= seen:
            if not self.alive() or time.time() > deadline:
                ok = False
                break
            time.sleep(0.05)
        if not ok:
            raise TestFailure("%s did not start:\n%s" % (
                self.name, self.read_log()[-3000:]))
        return self.proc

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=20, on_stuck=None):
        """SIGTERM; the exit status, or None if it had to be killed."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if on_stuck is not None:
                    on_stuck(self.proc.pid)
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                rc = None
        return rc

    def kill(self, sig=signal.SIGKILL):
        """Sends sig and waits for the end; None if it was not running."""
        if not self.alive():
            return None
        os.kill(self.proc.pid, sig)
        return self.proc.wait()

    def read_log(self):
        return read_text(self.logfile)

    def sanitizer_report(self):
        return sanitizer_lines(self.read_log())


# -- for the bash tests: a daemon whose parent is a small supervisor ------
#
# A bash test cannot wait(2) for a process python started, so `gbtest
# start` leaves a supervisor behind that waits for the daemon and writes
# its exit status (as bash reports it: 128 + signal) to DIR/NAME.rc.

def _write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def supervise(d, name, argv, ports=(), log_line=None, timeout=30):
    """Starts argv as daemon NAME of directory d (d/NAME.log, d/NAME.pid,
    d/NAME.rc); returns once it is ready (see Daemon.start)."""
    pidfile = os.path.join(d, name + ".pid")
    rcfile = os.path.join(d, name + ".rc")
    for f in (pidfile, rcfile):
        if os.path.exists(f):
            os.unlink(f)
    logfile = os.path.join(d, name + ".log")
    seen = count_lines(logfile, log_line) if log_line else 0
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        os.setsid()
        fd = os.open(os.devnull, os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        dm = Daemon(name, argv, os.path.join(d, name + ".log"))
        status = "start"
        try:
            with open(dm.logfile, "ab") as log:
                dm.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=log)
            _write_atomic(pidfile, "%d\n" % dm.pid)
            status = "ok"
        finally:
            os.write(w, status.encode())
            os.close(w)
        rc = dm.proc.wait()
        _write_atomic(rcfile, "%d\n" % (128 - rc if rc < 0 else rc))
        os._exit(0)
    os.close(w)
    status = os.read(r, 16)
    os.close(r)
    if status != b"ok":
        raise TestFailure("%s: could not run %s" % (name, argv[0]))
    with open(pidfile) as f:
        pid = int(f.read())

    def alive():
        return not os.path.exists(rcfile)
    ok = wait_listening(ports, alive, timeout)
    deadline = time.time() + timeout
    while ok and log_line and count_lines(logfile, log_line) <= seen:
        if not alive() or time.time() > deadline:
            ok = False
            break
        time.sleep(0.05)
    if not ok:
        raise TestFailure("%s did not start" % name)
    return pid


def wait_rc(d, name, timeout):
    """The exit status of supervised daemon NAME, or None if it is still
    running after timeout seconds."""
    rcfile = os.path.join(d, name + ".rc")
    deadline = time.time() + timeout
    while not os.path.exists(rcfile):
        if time.time() > deadline:
            return None
        time.sleep(0.05)
    with open(rcfile) as f:
        return int(f.read())


def end(d, name, sig, timeout):
    """Sends sig to supervised daemon NAME and waits for its exit status;
    a daemon still there after timeout seconds is killed (status None)."""
    try:
        with open(os.path.join(d, name + ".pid")) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    rc = wait_rc(d, name, timeout)
    if rc is None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_rc(d, name, 10)
    return rc
