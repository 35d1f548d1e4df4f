#!/usr/bin/env python3
"""tests/smtp-talk.py: one scripted SMTP or LMTP conversation.

  smtp-talk.py (--port P [--tls|--starttls] | --unix PATH) [--lmtp]
               [--user U --password PW] COMMAND...

Each COMMAND is sent as a line and its (possibly multi-line) reply read
and printed, as the server sent it.  "DATA<FILE" sends DATA, then the
file dot-stuffed and ".", and reads one reply, or with --lmtp one reply
per recipient the server accepted.  --user authenticates with AUTH PLAIN
after EHLO, before the commands.  A connection the server closed prints
"(closed)".
"""
import argparse
import base64
import os
import socket
import ssl
import sys


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise Closed()
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            print(l, flush=True)
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]) if l[:3].isdigit() else 0, lines

    def send(self, data):
        self.sock.sendall(data)


def ctx():
    c = ssl.create_default_context(
        cafile=os.path.join(os.environ["tmp"], "cert.pem"))
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--unix")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--lmtp", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("commands", nargs="*")
    a = ap.parse_intermixed_args()
    if a.unix:
        s = socket.socket(socket.AF_UNIX)
        s.connect(a.unix)
    else:
        s = socket.create_connection(("127.0.0.1", a.port))
    s.settimeout(60)
    if a.tls:
        s = ctx().wrap_socket(s, server_hostname="localhost")
    c = Conn(s)
    accepted = 0
    try:
        c.reply()
        if a.starttls:
            c.send(b"EHLO client.test\r\n")
            c.reply()
            c.send(b"STARTTLS\r\n")
            c.reply()
            c.sock = ctx().wrap_socket(s, server_hostname="localhost")
        if a.user:
            c.send(b"EHLO client.test\r\n")
            c.reply()
            tok = base64.b64encode(b"\0" + a.user.encode() + b"\0" +
                                   a.password.encode())
            c.send(b"AUTH PLAIN " + tok + b"\r\n")
            code, _ = c.reply()
            if code != 235:
                sys.exit("AUTH failed")
        for cmd in a.commands:
            if cmd.startswith("DATA<"):
                c.send(b"DATA\r\n")
                code, _ = c.reply()
                if code != 354:
                    continue
                with open(cmd[5:], "rb") as f:
                    body = f.read()
                out = []
                for l in body.split(b"\r\n"):
                    out.append(b"." + l if l.startswith(b".") else l)
                body = b"\r\n".join(out)
                if not body.endswith(b"\r\n"):
                    body += b"\r\n"
                c.send(body + b".\r\n")
                for i in range(accepted if a.lmtp else 1):
                    c.reply()
                accepted = 0
                continue
            c.send(cmd.encode() + b"\r\n")
            code, _ = c.reply()
            verb = cmd.split(" ")[0].upper()
            if verb == "RCPT" and code // 100 == 2:
                accepted += 1
            elif verb in ("RSET", "MAIL"):
                accepted = 0
    except Closed:
        print("(closed)")


if __name__ == "__main__":
    main()
