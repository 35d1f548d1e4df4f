# tests/lib/gbtest/setup.py: what every end-to-end test sets up the same
# way: a certificate, a sender's OpenPGP key, guestbox.conf, and
# mailboxes created with guestbox-provision and activated with
# tests/gb-activate.  The bash tests reach the same code through
# `python3 -m gbtest` (tests/lib/harness.sh).

import os
import re
import subprocess

from .env import PASSWORD, TestFailure


def run(argv, stdin=None, check=True, preexec_fn=None):
    r = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=preexec_fn)
    if check and r.returncode != 0:
        raise TestFailure("%s: exit %d\n%s%s" % (
            " ".join(argv), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r


# subjectAltName of the test certificate: every name a client may dial.
LOCAL_SAN = "DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"


def make_cert(cert, key, cn="localhost", san=LOCAL_SAN, days=2):
    """A self-signed P-256 certificate (its own CA), the key readable by
    the daemon's user."""
    run(["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", str(days), "-subj", "/CN=%s" % cn,
         "-addext", "subjectAltName=%s" % san,
         "-keyout", key, "-out", cert])
    os.chmod(key, 0o644)
    os.chmod(cert, 0o644)


def gpg_key(home, uid, export, algo="future-default", expire="never"):
    """A GnuPG home with a key pair without passphrase for uid
    ("Name <addr>"); the public key, armoured, goes to export."""
    if not os.path.isdir(home):
        os.mkdir(home, 0o700)
    g = ["gpg", "--homedir", home, "--batch", "--quiet",
         "--pinentry-mode", "loopback", "--passphrase", ""]
    run(g + ["--quick-gen-key", uid, algo, "default", expire])
    addr = re.search(r"<([^>]*)>", uid)
    r = run(g + ["--armor", "--export", addr.group(1) if addr else uid])
    with open(export, "wb") as f:
        f.write(r.stdout)


def gpg_kill(home):
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def render_conf(lines):
    """guestbox.conf text from "key = value" lines.  A key may be set
    only once (guestbox.conf(5)): a later line replaces an earlier one,
    except the listener lists, which add up."""
    last = {}
    for i, l in enumerate(lines):
        f = l.split()
        if len(f) >= 2 and f[1] == "=" and not f[0].endswith("_listen"):
            last[f[0]] = i
    out = []
    for i, l in enumerate(lines):
        f = l.split()
        if len(f) >= 2 and f[1] == "=" and not f[0].endswith("_listen") \
                and last[f[0]] != i:
            continue
        out.append(l)
    return "\n".join(out) + "\n"


def write_conf(path, lines):
    with open(path, "w") as f:
        f.write(render_conf(lines))


def base_conf(state, user, cert, key):
    """What every test's guestbox.conf holds: cheap Argon2, the
    certificate, the state directory."""
    return ["state_dir = %s" % state,
            "user = %s" % user,
            "kdf_opslimit = 1",
            "kdf_memlimit = 8M",
            "public_url = https://guestbox.test",
            "tls_cert = %s" % cert,
            "tls_key = %s" % key]


def create_mailbox(provision, conf, address, sender, sender_key,
                   activate=None, password=PASSWORD, preexec_fn=None):
    """guestbox-provision create (with a configuration that has no
    smarthost, so that it prints the link), then, if activate (the path
    of tests/gb-activate) is given and password is not empty, the
    activation.  Returns the link."""
    create_conf = conf + ".create"
    with open(conf) as f, open(create_conf, "w") as out:
        out.writelines(l for l in f if not l.startswith("smarthost"))
    os.chmod(create_conf, 0o644)
    r = run([provision, "-c", create_conf, "create", "--recipient", address,
             "--sender", sender, "--sender-key", sender_key,
             "--pin", "none"], preexec_fn=preexec_fn)
    m = re.search(rb"^link: *(\S+)$", r.stdout, re.M)
    link = m.group(1).decode() if m else ""
    if activate and password:
        if not link:
            raise TestFailure("create printed no link: %r" % r.stdout)
        r = run([activate, conf, link, password], preexec_fn=preexec_fn)
        if not r.stdout.startswith(b"ok "):
            raise TestFailure("gb-activate: %r" % r.stdout)
    return link
