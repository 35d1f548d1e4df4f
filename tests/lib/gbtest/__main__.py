# tests/lib/gbtest/__main__.py: the harness for the bash tests
# (tests/lib/harness.sh); each command does what the Python tests call.
#
#   ports N                       N free loopback ports, one a line
#   cert CERT KEY [CN [SAN]]      a self-signed certificate
#   gpgkey HOME UID EXPORT [ALGO] a key pair, the public key to EXPORT
#   conf OUT LINE...              guestbox.conf (a key set twice: the
#                                 later line wins, but for *_listen)
#   mailbox PROVISION ACTIVATE CONF ADDR SENDER KEY [PASSWORD]
#                                 create (and with PASSWORD activate) a
#                                 mailbox; prints its link
#   start DIR NAME [--port P]... [--log-line RE] [--timeout S] -- CMD...
#                                 run CMD as daemon NAME (DIR/NAME.log,
#                                 .pid, .rc) until it is ready
#   stop DIR NAME [SIGNAL [SECONDS]]
#                                 signal it (TERM) and print its exit
#                                 status ("killed" after SECONDS)
#   rc DIR NAME SECONDS           wait for its exit status
#   listening PORT SECONDS        exit 0 once PORT accepts connections

import argparse
import signal
import sys

from . import daemons, net, setup
from .env import TestFailure


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "ports":
        print("\n".join(str(p) for p in net.free_ports(int(args[0]))))
    elif cmd == "cert":
        setup.make_cert(args[0], args[1], *args[2:4])
    elif cmd == "gpgkey":
        setup.gpg_key(args[0], args[1], args[2], *args[3:4])
    elif cmd == "conf":
        setup.write_conf(args[0], args[1:])
    elif cmd == "mailbox":
        print(setup.create_mailbox(args[0], args[2], args[3], args[4],
                                   args[5], args[1],
                                   args[6] if len(args) > 6 else None))
    elif cmd == "start":
        ap = argparse.ArgumentParser(prog="gbtest start")
        ap.add_argument("dir")
        ap.add_argument("name")
        ap.add_argument("--port", type=int, action="append", default=[])
        ap.add_argument("--log-line")
        ap.add_argument("--timeout", type=float, default=30)
        if "--" not in args:
            sys.exit("gbtest start: no -- before the command")
        i = args.index("--")
        a = ap.parse_args(args[:i])
        daemons.supervise(a.dir, a.name, args[i + 1:], a.port, a.log_line,
                          a.timeout)
    elif cmd == "stop":
        sig = getattr(signal, "SIG" + (args[2] if len(args) > 2 else "TERM"))
        rc = daemons.end(args[0], args[1], sig,
                         float(args[3]) if len(args) > 3 else 20)
        print("killed" if rc is None else rc)
    elif cmd == "rc":
        rc = daemons.wait_rc(args[0], args[1], float(args[2]))
        print("running" if rc is None else rc)
    elif cmd == "listening":
        sys.exit(0 if net.wait_listening([int(args[0])],
                                         timeout=float(args[1])) else 1)
    else:
        sys.exit("gbtest: unknown command %s" % cmd)


try:
    main(sys.argv[1:])
except TestFailure as e:
    sys.exit("gbtest: %s" % e)
