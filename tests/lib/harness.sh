# tests/lib/harness.sh: the bash face of guestbox's test harness, sourced
# by tests/*.test (which automake's test driver runs from the build
# directory with srcdir in the environment).  Exit status: 0 pass,
# 1 fail, 77 skip, 99 hard error.
#
# Ports, certificates, keys, guestbox.conf, mailboxes and the daemons'
# lives are the Python harness's (tests/lib/gbtest, `python3 -m gbtest`):
# this file only gives them shell names.  A test's files live in $tmp,
# removed on exit, even after a failure (KEEP_TMP=1 keeps a failed run's,
# KEEP_TMP=always every run's).  Daemons run as the current user, or as
# nobody when the test runs as root (they refuse root); each is stopped
# by PID, and its log must then hold no sanitizer report.

[ -z "${gb_harness:-}" ] || return 0
gb_harness=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

: "${srcdir:=$(dirname "$0")/..}"
: "${top_builddir:=.}"

SUBMITD=$top_builddir/guestbox-submitd
IMAPD=$top_builddir/guestbox-imapd
PROVISION=$top_builddir/guestbox-provision
ACTIVATE=$top_builddir/tests/gb-activate
GBMAIL="python3 $srcdir/tests/gbmail.py"
# The fake smarthost (tests/lib/smarthost.py); FAKE_SMARTHOST writes the
# envelope into each message too (X-Fake-* lines).
SMARTHOST="python3 $gb_harness/smarthost.py"
FAKE_SMARTHOST="$SMARTHOST --envelope-headers"

# gbtest COMMAND ARGS...: the Python harness (tests/lib/gbtest/__main__.py).
gbtest()
{
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$gb_harness" \
	    python3 -m gbtest "$@"
}

tmp=
gnupg_homes=
lib_pids=
gb_daemons=

lib_cleanup()
{
	local rc=$? h
	set +e
	gb_stop_all "$rc"
	# A test's own teardown runs next.
	if [ "$(type -t lib_cleanup_hook)" = function ]; then
		lib_cleanup_hook "$rc"
	fi
	if [ "$(type -t gb_extra_cleanup)" = function ]; then
		gb_extra_cleanup
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
	gbtest ports 1
}

# gb_ports N: N free TCP ports on 127.0.0.1, one per line.
gb_ports()
{
	gbtest ports "$1"
}

# gb_cert NAME [CN [SAN]]: a self-signed certificate $tmp/NAME-cert.pem
# with its key $tmp/NAME-key.pem (NAME "" makes cert.pem and key.pem);
# for localhost and 127.0.0.1 unless CN and SAN say otherwise.
gb_cert()
{
	local p=${1:+$1-}
	shift
	gbtest cert "$tmp/${p}cert.pem" "$tmp/${p}key.pem" "$@" ||
	    fail "cannot make the certificate $tmp/${p}cert.pem"
}

# lib_smtp_sink PORT DIR [smarthost.py options]: the smarthost stand-in,
# with a certificate for localhost in $tmp/sink-cert.pem, its output in
# DIR.log; stopped at the end.  Returns once it accepts connections.
lib_smtp_sink()
{
	local port=$1 dir=$2 name
	shift 2
	name=$(basename "$dir")
	[ -f "$tmp/sink-cert.pem" ] || gb_cert sink
	mkdir -p "$dir"
	gb_start_ready "$name" --port "$port" -- \
	    $SMARTHOST --port "$port" --cert "$tmp/sink-cert.pem" \
	    --key "$tmp/sink-key.pem" --dir "$dir" "$@"
	[ "$dir.log" -ef "$tmp/$name.log" ] || ln -s "$tmp/$name.log" "$dir.log"
}

# lib_wkd_server PORT DIR CERT KEY: a web key directory over HTTPS on
# 127.0.0.1:PORT serving DIR (tests/wkd-server.py), its log DIR.log;
# returns once it accepts connections, its PID in wkd_pid.
lib_wkd_server()
{
	python3 "$srcdir/tests/wkd-server.py" "$1" "$2" "$3" "$4" \
	    >"$2.log" 2>&1 &
	wkd_pid=$!
	lib_pids="$lib_pids $wkd_pid"
	gbtest listening "$1" 20 ||
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

# ---------------------------------------------------------------------
# A guestbox: state, certificates, keys, guestbox.conf, mailboxes
# ---------------------------------------------------------------------

# gb_wait_gone PID SECONDS: 0 once the process is gone.
gb_wait_gone()
{
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
	return 0
}

# gb_wait SECONDS CMD...: runs CMD until it succeeds; 1 if it never did.
gb_wait()
{
	local secs=$1 i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((secs * 10)) ] || return 1
		sleep 0.1
	done
	return 0
}

# gb_setup: $tmp (traversable by the daemon user), a certificate for
# localhost and 127.0.0.1 (and one of another CA, other-cert.pem, for
# negative checks), the sender's GnuPG home with a key, ports.
gb_setup()
{
	local p
	for p in "$SUBMITD" "$IMAPD" "$PROVISION" "$ACTIVATE"; do
		[ -x "$p" ] || { echo "$p has not been built" >&2; exit 99; }
	done
	lib_setup
	chmod 755 "$tmp"
	if [ "$(id -u)" -eq 0 ]; then
		gb_user=nobody
	else
		gb_user=$(id -un)
	fi
	gb_cert ""
	gb_cert other other DNS:other.test
	mkdir -m 700 "$tmp/state"
	[ "$(id -u)" -ne 0 ] || chown "$gb_user" "$tmp/state"
	set -- $(gb_ports 6)
	P_SMTPS=$1 P_SUBMISSION=$2 P_LMTP=$3 P_SMARTHOST=$4 P_IMAPS=$5 P_SPARE=$6
	C=$tmp/guestbox.conf
	gb_gpg_key sender sender@home.test Sender
}

# gb_gpg_key NAME ADDR REALNAME: a GnuPG home $tmp/NAME-gnupg with a key
# pair for ADDR, its public key in $tmp/NAME.asc.
gb_gpg_key()
{
	local h=$tmp/$1-gnupg
	lib_gnupg_home "$h"
	gbtest gpgkey "$h" "$3 <$2>" "$tmp/$1.asc" default >/dev/null ||
	    fail "gpg --quick-gen-key $2"
}

# gb_conf [LINES...]: writes $C; the lines are added at the end, and one
# that sets a key again replaces the line above (but for *_listen).
gb_conf()
{
	gbtest conf "$C" \
	    "# guestbox.conf for $(basename "$0")" \
	    "state_dir = $tmp/state" \
	    "user = $gb_user" \
	    "hostname = guestbox.test" \
	    "public_url = https://guestbox.test" \
	    "kdf_opslimit = 1" \
	    "kdf_memlimit = 8M" \
	    "tls_cert = $tmp/cert.pem" \
	    "tls_key = $tmp/key.pem" \
	    "submission_listen = 127.0.0.1:$P_SMTPS tls" \
	    "submission_listen = 127.0.0.1:$P_SUBMISSION starttls" \
	    "lmtp_listen = 127.0.0.1:$P_LMTP plain" \
	    "lmtp_listen = unix:lmtp.sock plain" \
	    "imap_listen = 127.0.0.1:$P_IMAPS tls" \
	    "smarthost = 127.0.0.1:$P_SMARTHOST" \
	    "smarthost_tls = starttls" \
	    "smarthost_ca = $tmp/cert.pem" \
	    "$@" || fail "gb_conf"
}

gp() { "$PROVISION" -c "$C" "$@"; }

# gb_mailbox ADDR PASSWORD [SENDER-NAME]: creates and, unless PASSWORD is
# empty, activates a mailbox whose correspondent is the sender
# (sender@home.test by default).
gb_mailbox()
{
	local who=${3:-sender}
	gbtest mailbox "$PROVISION" "$ACTIVATE" "$C" "$1" "$who@home.test" \
	    "$tmp/$who.asc" "$2" >"$tmp/create.out" 2>"$tmp/create.err" || {
		cat "$tmp/create.err" >&2
		fail "create $1"
	}
}

# ---------------------------------------------------------------------
# Daemons: gbtest start/stop keep DIR/NAME.log, .pid and .rc
# ---------------------------------------------------------------------

gb_register()
{
	case " $gb_daemons " in
	*" $1 "*) ;;
	*) gb_daemons="$gb_daemons $1" ;;
	esac
}

# gb_start_ready NAME [--port P]... [--log-line RE] -- CMD...: runs CMD
# in the background, output appended to $tmp/NAME.log, its PID in
# $tmp/NAME.pid, and returns once it is ready.
gb_start_ready()
{
	local name=$1
	shift
	gb_register "$name"
	gbtest start "$tmp" "$name" "$@" 2>"$tmp/$name.start" || {
		cat "$tmp/$name.start" "$tmp/$name.log" >&2 2>/dev/null
		fail "$name did not start"
	}
}

# gb_start NAME CMD...: runs CMD in the background, as gb_start_ready
# does, without waiting for it.
gb_start()
{
	local name=$1
	shift
	gb_start_ready "$name" -- "$@"
}

# gb_start_submitd / gb_start_imapd: the daemon, until it logged that it
# started.  GB_WRAP: a command to run it under (faketime, say).
gb_start_submitd()
{
	gb_start_ready submitd --log-line ' started$' --timeout 20 -- \
	    ${GB_WRAP:-} "$SUBMITD" -d -c "$C" "$@"
}

gb_start_imapd()
{
	gb_start_ready imapd --log-line ' started$' --timeout 20 -- \
	    ${GB_WRAP:-} "$IMAPD" -d -c "$C"
}

# The daemon logged that it is up COUNT times (each start appends).
gb_started()
{
	[ "$(grep -c ' started$' "$tmp/$1.log" 2>/dev/null)" -ge "$2" ]
}

# No sanitizer report in a daemon's log.
gb_clean_log()
{
	if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer' \
	    "$tmp/$1.log"; then
		cat "$tmp/$1.log" >&2
		fail "sanitizer report in the log of $1"
	fi
}

# gb_running NAME: its PID, if it runs.
gb_running()
{
	local pid
	[ ! -f "$tmp/$1.rc" ] && pid=$(cat "$tmp/$1.pid" 2>/dev/null) &&
	    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# gb_stop NAME: SIGTERM, then the daemon must exit 0 within 20 s with a
# clean log.
gb_stop()
{
	local name=$1 pid rc
	pid=$(gb_running "$name") || fail "$name is not running"
	rc=$(gbtest stop "$tmp" "$name" TERM 20)
	rm -f "$tmp/$name.pid"
	[ "$rc" = 0 ] || { tail -n 30 "$tmp/$name.log" >&2;
	    fail "$name exited with $rc after SIGTERM"; }
	gb_clean_log "$name"
	ok "$name stopped cleanly"
}

# gb_exit_status NAME [SECONDS]: waits for a daemon that is leaving by
# itself and prints its exit status ("running" if it did not end).
gb_exit_status()
{
	gbtest rc "$tmp" "$1" "${2:-20}"
}

# gb_kill9 NAME: SIGKILL, as a crash would.
gb_kill9()
{
	gbtest stop "$tmp" "$1" KILL 20 >/dev/null
	rm -f "$tmp/$1.pid"
}

# At the end: every daemon still running gets SIGTERM (SIGKILL after
# 20 s); after a failure their logs' tails are shown.
gb_stop_all()
{
	local name
	for name in $gb_daemons; do
		gb_running "$name" >/dev/null || continue
		gbtest stop "$tmp" "$name" TERM 20 >/dev/null
	done
	if [ "${1:-0}" -ne 0 ]; then
		for name in $gb_daemons; do
			[ -f "$tmp/$name.log" ] && {
				echo "--- $name.log" >&2
				tail -n 40 "$tmp/$name.log" >&2
			}
		done
	fi
}

# gb_wait_log NAME REGEX [SECONDS]
gb_wait_log()
{
	gb_wait "${3:-20}" grep -Eq -- "$2" "$tmp/$1.log" ||
	    { tail -n 40 "$tmp/$1.log" >&2; fail "$1 never logged /$2/"; }
}

# The raw database files hold no trace of a marker string.
gb_sealed()
{
	if grep -rqa -- "$1" "$tmp/state/db"; then
		fail "\"$1\" is in the clear in the database files"
	fi
	ok "\"$1\" is not in the database files"
}
