#!/usr/bin/env python3
"""tests/smtp-sink.py: a tiny SMTP server standing in for the smarthost.

Usage: smtp-sink.py PORT CERT KEY OUTDIR [--user U --password P] [--no-starttls]
Offers STARTTLS (RFC 3207) and AUTH PLAIN after it; writes each message,
un-dot-stuffed, to OUTDIR/N.eml and the envelope to OUTDIR/N.env.  It
serves connections one after another until killed (the test stops it by
PID).
"""
import argparse
import base64
import os
import socket
import ssl

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("cert")
ap.add_argument("key")
ap.add_argument("outdir")
ap.add_argument("--user")
ap.add_argument("--password")
ap.add_argument("--no-starttls", action="store_true")
args = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", args.port))
srv.listen(5)
count = 0


def serve(conn):
    global count
    f = conn.makefile("rwb")
    tls = False
    authed = args.user is None
    env = []

    def send(line):
        f.write(line.encode() + b"\r\n")
        f.flush()

    send("220 sink.test ESMTP")
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.decode("utf-8", "replace").rstrip("\r\n")
        verb = cmd.split(" ", 1)[0].upper()
        if verb == "EHLO":
            ext = ["250-sink.test", "250-8BITMIME"]
            if not tls and not args.no_starttls:
                ext.append("250-STARTTLS")
            if tls:
                ext.append("250-AUTH PLAIN LOGIN")
            ext.append("250 PIPELINING")
            for e in ext:
                send(e)
        elif verb == "STARTTLS" and not tls:
            send("220 go ahead")
            f.close()
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rwb")
            tls = True
        elif verb == "AUTH":
            parts = cmd.split(" ")
            raw = base64.b64decode(parts[2]).split(b"\0")
            if tls and raw[1].decode() == args.user and \
                    raw[2].decode() == args.password:
                authed = True
                send("235 2.7.0 ok")
            else:
                send("535 5.7.8 bad credentials")
        elif verb == "MAIL":
            if not authed:
                send("530 5.7.0 authentication required")
                continue
            env = [cmd]
            send("250 ok")
        elif verb == "RCPT":
            env.append(cmd)
            send("250 ok")
        elif verb == "DATA":
            send("354 go")
            data = []
            while True:
                l = f.readline()
                if l in (b".\r\n", b".\n", b""):
                    break
                if l.startswith(b"."):
                    l = l[1:]
                data.append(l)
            count += 1
            with open(os.path.join(args.outdir, "%d.eml" % count), "wb") as o:
                o.write(b"".join(data))
            with open(os.path.join(args.outdir, "%d.env" % count), "w") as o:
                o.write("\n".join(env + ["tls=%s" % tls]) + "\n")
            send("250 2.0.0 queued")
        elif verb == "QUIT":
            send("221 bye")
            return
        else:
            send("502 5.5.2 unknown")


while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except Exception as e:  # a broken client must not end the sink
        print("sink:", e, flush=True)
    finally:
        c.close()
