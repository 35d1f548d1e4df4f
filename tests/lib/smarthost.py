#!/usr/bin/env python3
"""tests/lib/smarthost.py: the one fake smarthost of guestbox's tests.

  smarthost.py --port P --cert C --key K --dir DIR [--tls] [--no-starttls]
      [--auth USER:PASS] [--strict] [--reject ADDR]... [--tempfail ADDR]...
      [--data-reply REPLY] [--eom-reply REPLY] [--quit-delay SECONDS]
      [--envelope-headers] [--smtputf8] [--pidfile F]

A threaded SMTP server on 127.0.0.1 with STARTTLS (RFC 3207) or, with
--tls, implicit TLS; AUTH PLAIN (RFC 4954) after TLS when --auth is
given, and then MAIL only after it; PIPELINING, SIZE, 8BITMIME and
ENHANCEDSTATUSCODES (and SMTPUTF8 with --smtputf8), or with --strict
only ENHANCEDSTATUSCODES, refusing MAIL parameters and pipelined commands
as Postfix does when it did not offer them.

What it records, in DIR:
  N.eml         each accepted message, un-dot-stuffed (numbering goes on
                where a smarthost before it on DIR stopped); with
                --envelope-headers X-Fake-Mail-From, X-Fake-Rcpt-To and
                X-Fake-TLS lines come first
  N.env         its envelope: the MAIL and RCPT command lines as sent,
                then "tls=True" or "tls=False"
  events.jsonl  one JSON object a line:
    {"ev": "accepted", "n": N, "conn": C, "message_id": "<...>",
     "rcpts": [...]}   the 250 after DATA was sent for message N on C
    {"ev": "confirmed", "n": N, "conn": C}
                       the client sent another command on C after that
                       250: it had read the reply
    {"ev": "end", "conn": C, "how": "quit" | "eof" | "reset" | "error"}
and on stdout every session ("connect", "< COMMAND", "sni NAME", ...).

Failures: --reject ADDR (550) and --tempfail ADDR (451) at RCPT;
--data-reply answers DATA, --eom-reply the end of the data; and from
DIR/mode.json (read at each connection, so a test changes them without a
restart):
  {"delay": S}            wait S seconds before every reply (a stall)
  {"reset_in_data": B, "resets": K}
                          the next K messages: the connection is reset
                          (RST) after B bytes of their data
  {"tempfail": true}      451 at the end of DATA

The test stops it by PID (SIGTERM).
"""
import argparse
import base64
import json
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

lock = threading.Lock()
state = {"conn": 0, "msg": 0, "resets_done": 0}


def log(*a):
    print(*a, flush=True)


def event(opts, **kw):
    with lock:
        with open(os.path.join(opts.dir, "events.jsonl"), "a") as f:
            f.write(json.dumps(kw) + "\n")


def read_mode(opts):
    try:
        with open(os.path.join(opts.dir, "mode.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def message_id(data):
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(
        b"\r\n ", b" ")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")
    return None


def address(arg):
    """The mailbox of "FROM:<a@b> PARAMS" or "TO:<a@b> PARAMS"; a quoted
    local part may hold blanks and ">" (RFC 5321 4.1.2)."""
    rest = arg.split(":", 1)[1].strip()
    quoted = escaped = False
    for i, ch in enumerate(rest[1:], 1) if rest.startswith("<") else ():
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ">" and not quoted:
            return rest[1:i]
    return rest.split(" ")[0].strip("<>")


class Reset(Exception):
    pass


class Session(socketserver.StreamRequestHandler):
    timeout = 300

    def setup(self):
        self.opts = self.server.opts
        if self.opts.tls:
            self.request = self.server.ctx.wrap_socket(self.request,
                                                       server_side=True)
        super().setup()
        self.tls = self.opts.tls

    def reply(self, text):
        d = self.mode.get("delay", 0)
        if d:
            time.sleep(d)
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def reset(self):
        # SO_LINGER 0: close sends RST, as a crashing smarthost would.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        raise Reset()

    def pipelined(self):
        """Bytes already sent behind the command just read."""
        try:
            self.request.setblocking(False)
            return len(self.rfile.peek(1)) > 0
        except (BlockingIOError, ssl.SSLError, OSError):
            return False
        finally:
            self.request.settimeout(self.timeout)

    def starttls(self):
        self.reply("220 2.0.0 go ahead")
        self.request = self.server.ctx.wrap_socket(self.request,
                                                   server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")
        self.tls = True

    def handle(self):
        with lock:
            state["conn"] += 1
            self.cid = state["conn"]
        self.mode = read_mode(self.opts)
        log("connect", self.client_address[0])
        how = "eof"
        try:
            how = self.session()
        except Reset:
            how = "reset"
        except (OSError, ssl.SSLError, ValueError, IndexError):
            how = "error"
        log(how)
        event(self.opts, ev="end", conn=self.cid, how=how)

    def ehlo(self):
        opts = self.opts
        ext = ["ENHANCEDSTATUSCODES"] if opts.strict else \
            ["PIPELINING", "SIZE 100000000", "8BITMIME",
             "ENHANCEDSTATUSCODES"]
        if opts.smtputf8:
            ext.append("SMTPUTF8")
        if not self.tls and not opts.no_starttls:
            ext.append("STARTTLS")
        if self.tls and opts.auth is not None:
            ext.append("AUTH PLAIN")
        out = ["250-sink.test"] + ["250-" + e for e in ext]
        out[-1] = "250 " + out[-1][4:]
        self.reply("\r\n".join(out))

    def auth(self, arg):
        parts = arg.split(" ")
        want = "\0" + self.opts.auth.replace(":", "\0", 1) \
            if self.opts.auth else None
        try:
            got = base64.b64decode(parts[1]).decode() \
                if len(parts) > 1 else None
        except ValueError:
            got = None
        if want is not None and got == want and self.tls:
            self.reply("235 2.7.0 ok")
            return True
        self.reply("535 5.7.8 bad credentials")
        return False

    def session(self):
        opts = self.opts
        self.reply("220 sink.test ESMTP")
        env = []
        mail_from = None
        rcpts = []
        authed = opts.auth is None
        unconfirmed = None
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return "eof"
            if unconfirmed is not None:
                event(opts, ev="confirmed", n=unconfirmed, conn=self.cid)
                unconfirmed = None
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            log("<", line[:200])
            if opts.strict and self.pipelined():
                # As Postfix does when PIPELINING was not offered.
                self.reply("554 5.5.0 Error: improper command pipelining")
                log("improper pipelining")
                return "error"
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            if verb in ("EHLO", "HELO"):
                self.ehlo()
            elif verb == "STARTTLS":
                if self.tls:
                    self.reply("503 5.5.1 TLS already active")
                    continue
                self.starttls()
            elif verb == "AUTH":
                authed = self.auth(arg) or authed
            elif verb == "MAIL":
                if not authed:
                    self.reply("530 5.7.0 authentication required")
                    continue
                params = arg.split(":", 1)[1].strip().split(" ")[1:]
                if opts.strict and params:
                    self.reply("555 5.5.4 Unsupported option: %s" % params[0])
                    continue
                mail_from = address(arg)
                env = [line]
                rcpts = []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                addr = address(arg)
                if mail_from is None:
                    self.reply("503 5.5.1 MAIL first")
                elif addr in opts.reject:
                    self.reply("550 5.1.1 <%s>: Recipient address rejected: "
                               "User unknown" % addr)
                elif addr in opts.tempfail:
                    self.reply("451 4.3.0 <%s>: try again later" % addr)
                else:
                    rcpts.append(addr)
                    env.append(line)
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                if opts.data_reply:
                    self.reply(opts.data_reply)
                    continue
                self.reply("354 go ahead")
                data = self.read_data()
                if opts.eom_reply or self.mode.get("tempfail"):
                    self.reply(opts.eom_reply or "451 4.3.0 try again later")
                else:
                    unconfirmed = self.accept(data, mail_from, rcpts, env)
                mail_from = None
                rcpts = []
            elif verb == "RSET":
                mail_from = None
                rcpts = []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                if opts.quit_delay:
                    time.sleep(opts.quit_delay)
                self.reply("221 2.0.0 bye")
                return "quit"
            else:
                self.reply("502 5.5.2 unknown command")

    def read_data(self):
        lines = []
        got = 0
        limit = None
        with lock:
            # Counted per message, so that a probe takes none.
            if state["resets_done"] < self.mode.get("resets", 0):
                state["resets_done"] += 1
                limit = self.mode.get("reset_in_data", 0)
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                raise OSError("EOF in DATA")
            got += len(line)
            if limit is not None and got >= limit:
                self.reset()
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            lines.append(line)
        return b"".join(lines)

    def accept(self, body, mail_from, rcpts, env):
        opts = self.opts
        with lock:
            state["msg"] += 1
            n = state["msg"]
        head = b""
        if opts.envelope_headers:
            head = ("X-Fake-Mail-From: %s\r\nX-Fake-Rcpt-To: %s\r\n"
                    "X-Fake-TLS: %s\r\n" % (mail_from, " ".join(rcpts),
                                             "yes" if self.tls else "no")
                    ).encode()
        for name, text in (("env", "\n".join(env + ["tls=%s" % self.tls])
                            .encode() + b"\n"), ("eml", head + body)):
            tmp = os.path.join(opts.dir, "tmp", "%d.%s" % (n, name))
            with open(tmp, "wb") as f:
                f.write(text)
            os.rename(tmp, os.path.join(opts.dir, "%d.%s" % (n, name)))
        # Logged before the reply: a reply the client got always has its
        # event.
        event(opts, ev="accepted", n=n, conn=self.cid,
              message_id=message_id(body), rcpts=rcpts)
        log("accepted", n, mail_from, rcpts, len(body))
        self.reply("250 2.0.0 ok: queued as %d" % n)
        return n


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--smtputf8", action="store_true")
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--tempfail", action="append", default=[])
    ap.add_argument("--auth")
    ap.add_argument("--data-reply", help="answer DATA with this")
    ap.add_argument("--strict", action="store_true",
                    help="offer no PIPELINING, SIZE, 8BITMIME; refuse them")
    ap.add_argument("--quit-delay", type=float, default=0)
    ap.add_argument("--eom-reply", help="answer the end of data with this")
    ap.add_argument("--envelope-headers", action="store_true")
    ap.add_argument("--pidfile")
    opts = ap.parse_args()
    os.makedirs(os.path.join(opts.dir, "tmp"), exist_ok=True)
    # A restarted smarthost goes on numbering where the last one stopped.
    state["msg"] = max([int(f[:-4]) for f in os.listdir(opts.dir)
                        if f.endswith(".eml") and f[:-4].isdigit()] + [0])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    ctx.sni_callback = lambda sock, name, c: log("sni", name)
    srv = Server(("127.0.0.1", opts.port), Session)
    srv.opts = opts
    srv.ctx = ctx
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    if opts.pidfile:
        with open(opts.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log("listening", opts.port)
    srv.serve_forever()


if __name__ == "__main__":
    main()
