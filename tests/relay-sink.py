#!/usr/bin/env python3
"""tests/relay-sink.py: the smarthost of the crash and resource tests.

  relay-sink.py PORT CERT KEY DIR

A threaded SMTP server with STARTTLS and PIPELINING that keeps every
message it accepts as DIR/N.eml and writes what happens to
DIR/events.jsonl, one JSON object a line:

  {"ev": "accepted", "n": N, "conn": C, "message_id": "<...>", "rcpts": [...]}
      the 250 after DATA was sent for message N on connection C
  {"ev": "confirmed", "n": N, "conn": C}
      the client sent another command on C after that 250: it had read
      the reply (and guestbox records the round before it sends more)
  {"ev": "end", "conn": C, "how": "quit" | "eof" | "reset" | "error"}

Faults, read from DIR/mode.json (if it exists) at each connection, so a
test changes them without restarting the sink:

  {"delay": S}            wait S seconds before every reply
  {"reset_in_data": B, "resets": K}
                          the next K messages: the connection is reset
                          (RST) after B bytes of their data
  {"tempfail": true}      451 at the end of DATA

The test stops it by PID (SIGTERM).
"""
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

port, cert, key, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs(outdir, exist_ok=True)
lock = threading.Lock()
state = {"conn": 0, "msg": 0, "resets_done": 0}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def event(**kw):
    with lock:
        with open(os.path.join(outdir, "events.jsonl"), "a") as f:
            f.write(json.dumps(kw) + "\n")


def mode():
    try:
        with open(os.path.join(outdir, "mode.json")) as f:
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


class Reset(Exception):
    pass


class Session(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, line):
        d = self.mode.get("delay", 0)
        if d:
            time.sleep(d)
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def reset(self):
        # SO_LINGER 0: close sends RST, as a crashing smarthost would.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        raise Reset()

    def handle(self):
        with lock:
            state["conn"] += 1
            self.cid = state["conn"]
            self.mode = mode()
        how = "eof"
        try:
            how = self.session()
        except Reset:
            how = "reset"
        except (OSError, ssl.SSLError, ValueError):
            how = "error"
        event(ev="end", conn=self.cid, how=how)

    def session(self):
        self.reply("220 sink.test ESMTP")
        tls = False
        rcpts = []
        unconfirmed = None
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return "eof"
            if unconfirmed is not None:
                event(ev="confirmed", n=unconfirmed, conn=self.cid)
                unconfirmed = None
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                for e in ["250-sink.test", "250-8BITMIME", "250-SIZE 100000000",
                          "250-ENHANCEDSTATUSCODES"] + \
                        ([] if tls else ["250-STARTTLS"]):
                    self.wfile.write(e.encode() + b"\r\n")
                self.reply("250 PIPELINING")
            elif verb == "STARTTLS" and not tls:
                self.reply("220 2.0.0 go ahead")
                self.connection = ctx.wrap_socket(self.connection,
                                                  server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                tls = True
            elif verb == "MAIL":
                rcpts = []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip())
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = self.read_data()
                if self.mode.get("tempfail"):
                    self.reply("451 4.3.0 try again later")
                    continue
                with lock:
                    state["msg"] += 1
                    n = state["msg"]
                with open(os.path.join(outdir, "%d.eml" % n), "wb") as f:
                    f.write(data)
                # Logged before the reply: a reply the client got always
                # has its event.
                event(ev="accepted", n=n, conn=self.cid,
                      message_id=message_id(data), rcpts=rcpts)
                self.reply("250 2.0.0 ok %d" % n)
                unconfirmed = n
            elif verb == "RSET":
                rcpts = []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return "quit"
            else:
                self.reply("502 5.5.1 not here")

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


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


srv = Server(("127.0.0.1", port), Session)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
srv.serve_forever()
