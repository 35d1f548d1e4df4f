# tests/lib.sh: shell helpers for guestbox's end-to-end tests.
#
# Sourced by tests/*.test, which automake's test driver runs from the
# build directory with srcdir in the environment.  Exit status: 0 pass,
# 1 fail, 77 skip, 99 hard error.

: "${srcdir:=$(dirname "$0")/..}"
: "${top_builddir:=.}"

# Where each test keeps its files; removed on exit, even after a failure.
tmp=
gnupg_homes=
lib_pids=

lib_cleanup()
{
	local rc=$? h
	set +e
	# A test's own teardown (daemons it started) runs first.
	if [ "$(type -t lib_cleanup_hook)" = function ]; then
		lib_cleanup_hook "$rc"
	fi
	for h in $lib_pids; do
		kill "$h" 2>/dev/null && wait "$h" 2>/dev/null
	done
	for h in $gnupg_homes; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1
	done
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if { [ "$rc" -ne 0 ] && [ -n "${KEEP_TMP:-}" ]; } ||
		    [ "${KEEP_TMP:-}" = always ]; then
			echo "# kept $tmp" >&2
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$rc"
}

# Makes $tmp and arranges for it to go away.
lib_setup()
{
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/guestbox-test.XXXXXXXX")
	trap lib_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

# A free TCP port on 127.0.0.1.
lib_free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# lib_smtp_sink PORT DIR [smtp-sink.py options]: the smarthost stand-in,
# with a certificate for localhost in $tmp/sink-cert.pem; stopped by
# lib_cleanup.  Returns once it accepts connections.
lib_smtp_sink()
{
	local port=$1 dir=$2 i
	shift 2
	[ -f "$tmp/sink-cert.pem" ] ||
	    openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    -keyout "$tmp/sink-key.pem" -out "$tmp/sink-cert.pem" 2>/dev/null
	mkdir -p "$dir"
	python3 "$srcdir/tests/smtp-sink.py" "$port" "$tmp/sink-cert.pem" \
	    "$tmp/sink-key.pem" "$dir" "$@" >"$dir.log" 2>&1 &
	lib_pids="$lib_pids $!"
	for i in $(seq 1 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" \
		    2>/dev/null && return 0
		sleep 0.1
	done
	fail "the SMTP sink on port $port did not start: $(cat "$dir.log")"
}

# lib_wkd_server PORT DIR CERT KEY: a web key directory over HTTPS on
# 127.0.0.1:PORT serving DIR (tests/wkd-server.py), its log DIR.log;
# returns once it accepts connections, its PID in wkd_pid.
lib_wkd_server()
{
	local i
	python3 "$srcdir/tests/wkd-server.py" "$1" "$2" "$3" "$4" \
	    >"$2.log" 2>&1 &
	wkd_pid=$!
	lib_pids="$lib_pids $wkd_pid"
	for i in $(seq 1 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" \
		    2>/dev/null && return 0
		sleep 0.1
	done
	fail "the web key directory on port $1 did not start: $(cat "$2.log")"
}

# A GnuPG home whose agent lib_cleanup stops.
lib_gnupg_home()
{
	mkdir -m 700 "$1"
	gnupg_homes="$gnupg_homes $1"
}

# lib_gen_key HOME UID ALGO: a key without passphrase.  gpg-agent can
# time out while other tests load the machine: try again, and show gpg's
# words if it keeps failing.
lib_gen_key()
{
	local i
	for i in 1 2 3; do
		gpg --homedir "$1" --batch --quiet --pinentry-mode loopback \
		    --passphrase '' --quick-gen-key "$2" "$3" default never \
		    2>"$tmp/gpg-genkey.err" && return 0
		sleep 1
	done
	cat "$tmp/gpg-genkey.err" >&2
	return 1
}

need()
{
	local p
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1; then
			echo "# SKIP: $p is not installed" >&2
			exit 77
		fi
	done
}

ntests=0
section()
{
	echo "# --- $*"
}

fail()
{
	echo "FAIL: $*" >&2
	if [ -n "${out:-}" ] && [ -f "$out" ]; then
		echo "--- stdout:" >&2; cat "$out" >&2
	fi
	if [ -n "${err:-}" ] && [ -f "$err" ]; then
		echo "--- stderr:" >&2; cat "$err" >&2
	fi
	exit 1
}

ok()
{
	ntests=$((ntests + 1))
	echo "ok $ntests - $*"
}

# run WANT CMD ARGS...: runs CMD with stdout in $out and stderr in $err
# and checks its exit status.  Standard input is inherited.
out=
err=
run()
{
	local want=$1 rc
	shift
	out=$tmp/stdout
	err=$tmp/stderr
	set +e
	"$@" >"$out" 2>"$err"
	rc=$?
	set -e
	[ "$rc" -eq "$want" ] ||
	    fail "exit $rc, wanted $want: $*"
	ok "exit $want: $*"
}

# The file holds a line matching the extended regular expression.
has()
{
	grep -Eq -- "$2" "$1" || fail "$1 has no line matching /$2/"
}

hasnot()
{
	! grep -Eq -- "$2" "$1" || fail "$1 has a line matching /$2/"
}

stdout_has() { has "$out" "$1"; }
stderr_has() { has "$err" "$1"; }

# Exact equality of two strings, with a label.
same()
{
	[ "$2" = "$3" ] || fail "$1: got \"$2\", wanted \"$3\""
}

differ()
{
	[ "$2" != "$3" ] || fail "$1: both are \"$2\""
}

# jget FILE EXPR: prints EXPR evaluated on the JSON document in FILE, as
# Python sees it (d is the document): jget "$out" 'd["pin"]'.  Fails the
# test if FILE is not one valid JSON document.
jget()
{
	python3 -c '
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
' "$1" "$2" || fail "jget $2 on $(cat "$1")"
}

# The value of "key:  value" lines of text output.
field()
{
	sed -n "s/^$2: *//p" "$1" | head -n 1
}
