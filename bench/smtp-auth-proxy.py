#!/usr/bin/env python3
"""bench/smtp-auth-proxy.py: lets smtp-source, which speaks neither TLS
nor AUTH, drive a submission server that insists on both.

  smtp-auth-proxy.py --listen PORT --upstream PORT [--user U --password PW]

For each plain connection on 127.0.0.1:--listen it opens an implicit TLS
connection to 127.0.0.1:--upstream, passes the greeting on, answers the
client's HELO/EHLO after sending its own EHLO (and AUTH PLAIN, with
--user) upstream, and from then on copies bytes both ways.  The same
proxy goes in front of every server measured through it, so its cost
is the same for each.
"""
import argparse
import asyncio
import base64
import ssl


async def reply(reader):
    """One complete SMTP reply; returns (code, raw bytes)."""
    raw = b""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("upstream closed")
        raw += line
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), raw


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def handler(opts, ctx):
    async def handle(creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection(
                "127.0.0.1", opts.upstream, ssl=ctx, server_hostname=None)
            code, raw = await reply(ureader)
            cwriter.write(raw)
            await cwriter.drain()
            hello = await creader.readline()
            if not hello:
                return
            uwriter.write(b"EHLO proxy.test\r\n")
            code, raw = await reply(ureader)
            if opts.user:
                tok = base64.b64encode(b"\0" + opts.user.encode() + b"\0" +
                                       opts.password.encode())
                uwriter.write(b"AUTH PLAIN " + tok + b"\r\n")
                code, raw = await reply(ureader)
                if code != 235:
                    cwriter.write(raw)
                    await cwriter.drain()
                    cwriter.close()
                    return
            cwriter.write(b"250 proxy.test\r\n")
            await cwriter.drain()
            await asyncio.gather(pipe(creader, uwriter),
                                 pipe(ureader, cwriter))
        except (ConnectionError, ssl.SSLError, OSError):
            cwriter.close()
    return handle


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    opts = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    srv = await asyncio.start_server(handler(opts, ctx), "127.0.0.1",
                                     opts.listen, backlog=512)
    print("listening", opts.listen, flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
