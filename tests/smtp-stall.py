#!/usr/bin/env python3
"""tests/smtp-stall.py: an SMTP or LMTP client that stalls, or one that
keeps talking slowly, for the timeout tests of guestbox-submitd.

  smtp-stall.py (--port P [--tls|--starttls] | --unix PATH) [--lmtp]
                [--user U --password PW] [--rcpt ADDR] [--from ADDR]
                MODE

MODE is one of
  idle       the greeting (and the TLS handshake; with --starttls EHLO,
             STARTTLS and the handshake), then nothing;
  idle-ehlo  EHLO/LHLO (and AUTH), then nothing;
  stall-data up to DATA and a part of the message, then nothing;
  slow       NOOP every --gap seconds for --talk seconds, then the
             message, one line every --gap seconds for --talk seconds
             and one pause of --data-gap seconds, then "." and QUIT.

The stalling modes wait up to --bound seconds for the server to say
something and close; they print each line the server sent and then
"(closed after N s)", or "(still open after N s)".  slow prints the
replies as they come and "(closed)" if the server closed early.  The
exit status is 0 unless a socket error other than a close happened.
"""
import argparse
import base64
import socket
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["idle", "idle-ehlo", "stall-data",
                                     "slow"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--unix")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--lmtp", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--from", dest="mail_from", default="sender@home.test")
    ap.add_argument("--rcpt", default="alice@external.test")
    ap.add_argument("--bound", type=float, default=30)
    ap.add_argument("--gap", type=float, default=1)
    ap.add_argument("--talk", type=float, default=6)
    ap.add_argument("--data-gap", type=float, default=0)
    ap.add_argument("--cafile")
    a = ap.parse_args()

    if a.unix:
        s = socket.socket(socket.AF_UNIX)
        s.connect(a.unix)
    else:
        s = socket.create_connection(("127.0.0.1", a.port))
    c = ssl.create_default_context(cafile=a.cafile)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    if a.tls:
        s = c.wrap_socket(s)
    buf = b""
    start = time.monotonic()

    def line(timeout=None):
        nonlocal buf
        s.settimeout(timeout if timeout is not None else a.bound)
        while b"\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None
            buf += d
        l, buf = buf.split(b"\n", 1)
        l = l.rstrip(b"\r").decode("utf-8", "replace")
        print(l, flush=True)
        return l

    def reply():
        while True:
            l = line()
            if l is None:
                print("(closed)", flush=True)
                sys.exit(0)
            if len(l) < 4 or l[3] != "-":
                return l

    def cmd(text):
        s.sendall(text.encode() + b"\r\n")
        return reply()

    def stall():
        t0 = time.monotonic()
        while True:
            try:
                l = line(max(0.1, a.bound - (time.monotonic() - t0)))
            except socket.timeout:
                print("(still open after %.0f s)" %
                      (time.monotonic() - t0), flush=True)
                return
            except ConnectionResetError:
                l = None
            if l is None:
                print("(closed after %.0f s)" % (time.monotonic() - t0),
                      flush=True)
                return

    reply()  # greeting
    if a.starttls:
        cmd("EHLO client.test")
        if not cmd("STARTTLS").startswith("220"):
            sys.exit("STARTTLS refused")
        s = c.wrap_socket(s)
    if a.mode == "idle":
        stall()
        return
    cmd(("LHLO" if a.lmtp else "EHLO") + " client.test")
    if a.user:
        tok = base64.b64encode(("\0%s\0%s" % (a.user, a.password)).encode())
        cmd("AUTH PLAIN " + tok.decode())
    if a.mode == "idle-ehlo":
        stall()
        return
    if a.mode == "slow":
        end = time.monotonic() + a.talk
        while time.monotonic() < end:
            time.sleep(a.gap)
            cmd("NOOP")
    cmd("MAIL FROM:<%s>" % a.mail_from)
    cmd("RCPT TO:<%s>" % a.rcpt)
    cmd("DATA")
    s.sendall(("From: %s\r\nTo: %s\r\nSubject: stall %s\r\n"
               "Message-ID: <%s.%d@client.test>\r\n\r\n" % (
                   a.mail_from, a.rcpt, a.mode, a.mode,
                   int(time.time()))).encode())
    if a.mode == "stall-data":
        s.sendall(b"a line, and then nothing more")
        stall()
        return
    end = time.monotonic() + a.talk
    n = 0
    while time.monotonic() < end:
        time.sleep(a.gap)
        n += 1
        s.sendall(b"slow line %d\r\n" % n)
    if a.data_gap:
        time.sleep(a.data_gap)
    s.sendall(b"slow body end\r\n.\r\n")
    reply()
    cmd("QUIT")


if __name__ == "__main__":
    main()
