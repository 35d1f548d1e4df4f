#!/usr/bin/env python3
"""tests/gbmail.py: IMAP and SMTP steps for guestbox's end-to-end tests.

  gbmail.py imap-count  --port P --user U --password PW MAILBOX
  gbmail.py imap-fetch  --port P --user U --password PW MAILBOX N|*
  gbmail.py imap-append --port P --user U --password PW MAILBOX FILE
  gbmail.py imap-bodystructure --port P --user U --password PW MAILBOX N|*
  gbmail.py imap-flags  --port P --user U --password PW MAILBOX N|*
  gbmail.py imap-idle   --port P --user U --password PW MAILBOX SECONDS READY
  gbmail.py submit --port P (--tls|--starttls) --user U --password PW
                   --from ADDR --to ADDR[,ADDR...] FILE

IMAP is always over implicit TLS, checked against --cafile (default
$tmp/cert.pem).  imap-fetch writes the message to stdout as it is stored.
submit prints the reply to the message ("250 2.0.0 Ok: queued ... as N")
and exits 0, or prints the refusal ("CODE text") and exits 1.
"""
import argparse
import imaplib
import os
import smtplib
import ssl
import sys


def ctx(cafile):
    c = ssl.create_default_context(cafile=cafile)
    return c


def imap(a):
    m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx(a.cafile))
    m.login(a.user, a.password)
    return m


def select(m, mailbox):
    typ, data = m.select(imaplib_quote(mailbox))
    if typ != "OK":
        sys.exit("SELECT %s: %s" % (mailbox, data))
    return int(data[0])


def imaplib_quote(s):
    if any(c in s for c in ' "()'):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def seq(m, n, count):
    if n == "*":
        return str(count)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", default=None)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--from", dest="mail_from")
    ap.add_argument("--to")
    a = ap.parse_intermixed_args()
    if a.cafile is None:
        a.cafile = os.path.join(os.environ["tmp"], "cert.pem")

    if a.cmd == "imap-count":
        m = imap(a)
        print(select(m, a.args[0]))
        m.logout()
    elif a.cmd in ("imap-fetch", "imap-bodystructure", "imap-flags"):
        m = imap(a)
        n = select(m, a.args[0])
        if n == 0:
            sys.exit("%s is empty" % a.args[0])
        item = {"imap-fetch": "(BODY.PEEK[])",
                "imap-bodystructure": "(BODYSTRUCTURE)",
                "imap-flags": "(FLAGS)"}[a.cmd]
        typ, data = m.fetch(seq(m, a.args[1], n), item)
        if typ != "OK" or not data or data[0] is None:
            sys.exit("FETCH: %s %s" % (typ, data))
        if a.cmd == "imap-fetch":
            sys.stdout.buffer.write(data[0][1])
        else:
            d = data[0]
            print(d.decode() if isinstance(d, bytes) else
                  b"".join(x if isinstance(x, bytes) else b"".join(x)
                           for x in data).decode())
        m.logout()
    elif a.cmd == "imap-idle":
        # imap-idle MAILBOX SECONDS READYFILE: IDLE until an EXISTS
        # arrives (printed, exit 0) or SECONDS pass (exit 1).
        m = imap(a)
        select(m, a.args[0])
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        if not m.readline().startswith(b"+"):
            sys.exit("IDLE refused")
        open(a.args[2], "w").close()
        m.sock.settimeout(float(a.args[1]))
        try:
            while True:
                l = m.readline()
                if not l:
                    sys.exit("connection closed")
                if l.startswith(b"* ") and l.rstrip().endswith(b"EXISTS"):
                    print(l.decode().rstrip())
                    break
        except OSError:
            sys.exit("no EXISTS within %s s" % a.args[1])
        m.send(b"DONE\r\n")
        m.readline()
        m.logout()
    elif a.cmd == "imap-append":
        m = imap(a)
        with open(a.args[1], "rb") as f:
            msg = f.read()
        typ, data = m.append(imaplib_quote(a.args[0]), None, None, msg)
        print(typ, data[0].decode() if data and data[0] else "")
        m.logout()
        if typ != "OK":
            sys.exit(1)
    elif a.cmd == "submit":
        with open(a.args[0], "rb") as f:
            msg = f.read()
        try:
            if a.tls:
                s = smtplib.SMTP_SSL("127.0.0.1", a.port,
                                     context=ctx(a.cafile), timeout=60)
            else:
                s = smtplib.SMTP("127.0.0.1", a.port, timeout=60)
                s.starttls(context=ctx(a.cafile))
            s.login(a.user, a.password)
            s.ehlo_or_helo_if_needed()
            code, text = s.mail(a.mail_from)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, a.mail_from)
            refused = {}
            for r in a.to.split(","):
                code, text = s.rcpt(r)
                if code // 100 != 2:
                    refused[r] = (code, text)
            if len(refused) == len(a.to.split(",")):
                raise smtplib.SMTPRecipientsRefused(refused)
            code, text = s.data(msg)
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
            s.quit()
        except smtplib.SMTPRecipientsRefused as e:
            for r, (code, text) in e.recipients.items():
                print(code, text.decode())
            sys.exit(1)
        except smtplib.SMTPResponseException as e:
            print(e.smtp_code, e.smtp_error.decode())
            sys.exit(1)
        if refused:
            for r, (code, text) in refused.items():
                print(code, text.decode())
            sys.exit(1)
        print(code, text.decode())
    else:
        sys.exit("unknown command " + a.cmd)


if __name__ == "__main__":
    main()
