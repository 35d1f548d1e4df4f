#!/usr/bin/env python3
"""tests/fake-smarthost.py: a small SMTP server for guestbox's relay tests.

It plays the smarthost: STARTTLS (or implicit TLS), optional AUTH PLAIN,
PIPELINING, and answers that a test chooses per recipient.  Each accepted
message is written to DIR/N.eml (atomically: DIR/tmp first), with the
envelope in X-Fake-Mail-From and X-Fake-Rcpt-To lines before it; every
session is logged on stdout.

  fake-smarthost.py --port P --cert C --key K --dir DIR [--tls]
      [--reject ADDR]... [--tempfail ADDR]... [--auth USER:PASS]
      [--no-starttls] [--data-reply REPLY] [--eom-reply REPLY]
      [--strict] [--quit-delay SECONDS] [--pidfile F]

--strict offers only ENHANCEDSTATUSCODES (and STARTTLS, AUTH) and, like
Postfix, refuses MAIL parameters and pipelined commands it did not offer.
"""
import argparse
import base64
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

counter_lock = threading.Lock()
counter = [0]


def log(*a):
    print(*a, flush=True)


class Session(socketserver.StreamRequestHandler):
    timeout = 60

    def setup(self):
        opts = self.server.opts
        if opts.tls:
            self.request = self.server.ctx.wrap_socket(self.request,
                                                       server_side=True)
        super().setup()
        self.tls = opts.tls

    def reply(self, s):
        self.wfile.write((s + "\r\n").encode())
        self.wfile.flush()

    def pipelined(self):
        """Bytes already sent behind the command just read."""
        sock = self.request
        try:
            sock.setblocking(False)
            return len(self.rfile.peek(1)) > 0
        except (BlockingIOError, ssl.SSLError, OSError):
            return False
        finally:
            sock.settimeout(self.timeout)

    def readline(self):
        line = self.rfile.readline(65536)
        if not line:
            return None
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def starttls(self):
        self.reply("220 2.0.0 go ahead")
        self.request = self.server.ctx.wrap_socket(self.request,
                                                   server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")
        self.tls = True

    def handle(self):
        opts = self.server.opts
        peer = self.client_address[0]
        log("connect", peer)
        self.reply("220 fake.smarthost.test ESMTP fake")
        mail_from = None
        rcpts = []
        authed = opts.auth is None
        while True:
            line = self.readline()
            if line is None:
                log("eof")
                return
            log("<", line[:200])
            if opts.strict and self.pipelined():
                # As Postfix does when PIPELINING was not offered.
                self.reply("554 5.5.0 Error: improper command pipelining")
                log("improper pipelining")
                return
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            if verb in ("EHLO", "HELO"):
                ext = ["ENHANCEDSTATUSCODES"] if opts.strict else \
                    ["PIPELINING", "SIZE 100000000", "8BITMIME",
                     "ENHANCEDSTATUSCODES"]
                if not self.tls and not opts.no_starttls:
                    ext.append("STARTTLS")
                if self.tls and opts.auth is not None:
                    ext.append("AUTH PLAIN")
                out = ["250-fake.smarthost.test"] + ["250-" + e for e in ext]
                out[-1] = "250 " + out[-1][4:]
                self.wfile.write(("\r\n".join(out) + "\r\n").encode())
                self.wfile.flush()
            elif verb == "STARTTLS":
                if self.tls:
                    self.reply("503 5.5.1 TLS already active")
                    continue
                self.starttls()
            elif verb == "AUTH":
                parts = arg.split(" ")
                want = "\0" + opts.auth.replace(":", "\0", 1) \
                    if opts.auth else None
                try:
                    got = base64.b64decode(parts[1]).decode() \
                        if len(parts) > 1 else None
                except Exception:
                    got = None
                if want is not None and got == want and self.tls:
                    authed = True
                    self.reply("235 2.7.0 ok")
                else:
                    self.reply("535 5.7.8 no")
            elif verb == "MAIL":
                if not authed:
                    self.reply("530 5.7.0 authentication required")
                    continue
                params = arg.split(":", 1)[1].split(" ")[1:]
                if opts.strict and params:
                    self.reply("555 5.5.4 Unsupported option: %s" % params[0])
                    continue
                mail_from = arg.split(":", 1)[1].split(" ")[0].strip("<>")
                rcpts = []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                addr = arg.split(":", 1)[1].split(" ")[0].strip("<>")
                if mail_from is None:
                    self.reply("503 5.5.1 MAIL first")
                elif addr in opts.reject:
                    self.reply("550 5.1.1 <%s>: Recipient address rejected: "
                               "User unknown" % addr)
                elif addr in opts.tempfail:
                    self.reply("451 4.3.0 <%s>: try again later" % addr)
                else:
                    rcpts.append(addr)
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                if opts.data_reply:
                    self.reply(opts.data_reply)
                    continue
                self.reply("354 go ahead")
                data = []
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data.append(l)
                if opts.eom_reply:
                    self.reply(opts.eom_reply)
                    mail_from = None
                    rcpts = []
                    continue
                with counter_lock:
                    counter[0] += 1
                    n = counter[0]
                body = b"".join(data)
                head = ("X-Fake-Mail-From: %s\r\nX-Fake-Rcpt-To: %s\r\n"
                        "X-Fake-TLS: %s\r\n" % (mail_from, " ".join(rcpts),
                                                 "yes" if self.tls else "no"))
                tmp = os.path.join(opts.dir, "tmp", "%d.eml" % n)
                with open(tmp, "wb") as f:
                    f.write(head.encode() + body)
                os.rename(tmp, os.path.join(opts.dir, "%d.eml" % n))
                log("accepted", n, mail_from, rcpts, len(body))
                self.reply("250 2.0.0 queued as FAKE%d" % n)
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
                return
            else:
                self.reply("502 5.5.2 unknown command")


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
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--tempfail", action="append", default=[])
    ap.add_argument("--auth")
    ap.add_argument("--data-reply", help="answer DATA with this")
    ap.add_argument("--strict", action="store_true",
                    help="offer no PIPELINING, SIZE, 8BITMIME; refuse them")
    ap.add_argument("--quit-delay", type=float, default=0)
    ap.add_argument("--eom-reply", help="answer the end of data with this")
    ap.add_argument("--pidfile")
    opts = ap.parse_args()
    os.makedirs(os.path.join(opts.dir, "tmp"), exist_ok=True)
    # A restarted smarthost goes on numbering where the last one stopped.
    counter[0] = max([int(f[:-4]) for f in os.listdir(opts.dir)
                      if f.endswith(".eml")] + [0])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    ctx.sni_callback = lambda sock, name, c: log("sni", name)
    srv = Server(("127.0.0.1", opts.port), Session)
    srv.opts = opts
    srv.ctx = ctx
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    if opts.pidfile:
        with open(opts.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log("listening", opts.port)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
