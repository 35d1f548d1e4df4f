#!/usr/bin/env python3
# tests/wkd-server.py PORT DIR CERT KEY [ADDR]: a web key directory for
# the tests, over HTTPS: serves the files under DIR (the
# .well-known/openpgpkey tree) and logs each request to stderr.
import functools
import http.server
import ssl
import sys

port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
addr = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=root)
server = http.server.ThreadingHTTPServer((addr, port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
