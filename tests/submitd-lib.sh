# tests/submitd-lib.sh: what the end-to-end tests of guestbox-submitd
# share, sourced after tests/lib.sh: a state directory with a certificate,
# throwaway OpenPGP keys, mailboxes, ports chosen at run time, daemons
# started in the background and always stopped by PID.
#
# Daemons run as the current user, or as nobody when the test runs as
# root (they refuse root).  Every daemon is stopped with SIGTERM at the
# end; its log must then hold no sanitizer report (ASan, UBSan, LSan in
# an --enable-sanitizers build).

SUBMITD=$top_builddir/guestbox-submitd
IMAPD=$top_builddir/guestbox-imapd
PROVISION=$top_builddir/guestbox-provision
ACTIVATE=$top_builddir/tests/gb-activate
GBMAIL="python3 $srcdir/tests/gbmail.py"
FAKE_SMARTHOST="python3 $srcdir/tests/fake-smarthost.py"

for p in "$SUBMITD" "$IMAPD" "$PROVISION" "$ACTIVATE"; do
	[ -x "$p" ] || { echo "$p has not been built" >&2; exit 99; }
done

# "name pid" per line; the hook stops whatever is still running.
gb_daemons=

lib_cleanup_hook()
{
	local name pid
	for name in $gb_daemons; do
		pid=$(cat "$tmp/$name.pid" 2>/dev/null) || continue
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || continue
		gb_wait_gone "$pid" 20 || kill -KILL "$pid" 2>/dev/null
	done
	if [ "${1:-0}" -ne 0 ]; then
		for name in $gb_daemons; do
			[ -f "$tmp/$name.log" ] && {
				echo "--- $name.log" >&2
				tail -n 40 "$tmp/$name.log" >&2
			}
		done
	fi
	if command -v gb_extra_cleanup >/dev/null 2>&1; then
		gb_extra_cleanup
	fi
}

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

# gb_ports N: N free TCP ports on 127.0.0.1, one per line.
gb_ports()
{
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for i in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# gb_setup: $tmp (traversable by the daemon user), a certificate for
# localhost and 127.0.0.1, the sender's GnuPG home with a key, ports.
gb_setup()
{
	lib_setup
	chmod 755 "$tmp"
	if [ "$(id -u)" -eq 0 ]; then
		gb_user=nobody
	else
		gb_user=$(id -un)
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null ||
	    fail "openssl req"
	chmod 644 "$tmp/cert.pem"
	# Another certificate (and so another CA) for negative checks.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
	    -addext "subjectAltName=DNS:other.test" \
	    -keyout "$tmp/other-key.pem" -out "$tmp/other-cert.pem" \
	    2>/dev/null || fail "openssl req"
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
	gpg --homedir "$h" --batch --quiet --pinentry-mode loopback \
	    --passphrase '' --quick-gen-key "$3 <$2>" default default never \
	    2>/dev/null || fail "gpg --quick-gen-key $2"
	gpg --homedir "$h" --batch --armor --export "$2" >"$tmp/$1.asc"
}

# gb_conf [LINES...]: writes $C; the lines are added at the end.
gb_conf()
{
	{
		echo "# guestbox.conf for $(basename "$0")"
		echo "state_dir = $tmp/state"
		echo "user = $gb_user"
		echo "hostname = guestbox.test"
		echo "public_url = https://guestbox.test"
		echo "kdf_opslimit = 1"
		echo "kdf_memlimit = 8M"
		echo "tls_cert = $tmp/cert.pem"
		echo "tls_key = $tmp/key.pem"
		echo "submission_listen = 127.0.0.1:$P_SMTPS tls"
		echo "submission_listen = 127.0.0.1:$P_SUBMISSION starttls"
		echo "lmtp_listen = 127.0.0.1:$P_LMTP plain"
		echo "lmtp_listen = unix:lmtp.sock plain"
		echo "imap_listen = 127.0.0.1:$P_IMAPS tls"
		echo "smarthost = 127.0.0.1:$P_SMARTHOST"
		echo "smarthost_tls = starttls"
		echo "smarthost_ca = $tmp/cert.pem"
		local l
		for l in "$@"; do echo "$l"; done
	} | awk '
	# A key may be set only once (guestbox.conf(5)): a line given to
	# gb_conf replaces the one above, except the listener lists.
	{ line[NR] = $0; if ($2 == "=" && $1 !~ /_listen$/) last[$1] = NR }
	END { for (i = 1; i <= NR; i++) { split(line[i], f, " ")
		if (f[2] == "=" && f[1] !~ /_listen$/ && last[f[1]] != i)
			continue
		print line[i] } }' >"$C"
}

gp() { "$PROVISION" -c "$C" "$@"; }

# gb_mailbox ADDR PASSWORD [SENDER-NAME]: creates and activates a mailbox
# whose correspondent is the sender (sender@home.test by default).  The
# configuration without the smarthost makes create print the link
# instead of mailing the invitation.
gb_mailbox()
{
	local addr=$1 pw=$2 who=${3:-sender} link
	grep -v '^smarthost' "$C" >"$tmp/create.conf"
	"$PROVISION" -c "$tmp/create.conf" create --recipient "$addr" \
	    --sender "$who@home.test" --sender-key "$tmp/$who.asc" \
	    --pin none >"$tmp/create.out" 2>"$tmp/create.err" || {
		cat "$tmp/create.err" >&2
		fail "create $addr"
	}
	link=$(sed -n 's/^link: *//p' "$tmp/create.out")
	[ -n "$pw" ] || return 0
	"$ACTIVATE" "$C" "$link" "$pw" >/dev/null 2>"$tmp/activate.err" || {
		cat "$tmp/activate.err" >&2
		fail "activate $addr"
	}
}

# gb_start NAME CMD...: runs CMD in the background, output in
# $tmp/NAME.log, its PID in $tmp/NAME.pid.
gb_start()
{
	local name=$1
	shift
	"$@" >>"$tmp/$name.log" 2>&1 &
	echo $! >"$tmp/$name.pid"
	case " $gb_daemons " in
	*" $name "*) ;;
	*) gb_daemons="$gb_daemons $name" ;;
	esac
}

# The daemon logged that it is up (each start appends to the log).
gb_started()
{
	[ "$(grep -c ' started$' "$tmp/$1.log" 2>/dev/null)" -ge "$2" ]
}

gb_start_submitd()
{
	local n
	n=$(grep -c ' started$' "$tmp/submitd.log" 2>/dev/null) || n=0
	# GB_WRAP: a command to run it under (faketime, say).
	gb_start submitd ${GB_WRAP:-} "$SUBMITD" -d -c "$C" "$@"
	gb_wait 20 gb_started submitd $((n + 1)) ||
	    { cat "$tmp/submitd.log" >&2; fail "guestbox-submitd did not start"; }
}

gb_start_imapd()
{
	local n
	n=$(grep -c ' started$' "$tmp/imapd.log" 2>/dev/null) || n=0
	gb_start imapd ${GB_WRAP:-} "$IMAPD" -d -c "$C"
	gb_wait 20 gb_started imapd $((n + 1)) ||
	    { cat "$tmp/imapd.log" >&2; fail "guestbox-imapd did not start"; }
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

# gb_stop NAME: SIGTERM, then the daemon must exit 0 within 20 s with a
# clean log.
gb_stop()
{
	local name=$1 pid rc
	pid=$(cat "$tmp/$name.pid")
	kill -TERM "$pid" 2>/dev/null || fail "$name (pid $pid) is not running"
	set +e
	wait "$pid"
	rc=$?
	set -e
	rm -f "$tmp/$name.pid"
	[ "$rc" -eq 0 ] || { tail -n 30 "$tmp/$name.log" >&2;
	    fail "$name exited with $rc after SIGTERM"; }
	gb_clean_log "$name"
	ok "$name stopped cleanly"
}

# gb_kill9 NAME: SIGKILL, as a crash would.
gb_kill9()
{
	local pid
	pid=$(cat "$tmp/$1.pid")
	kill -KILL "$pid"
	set +e
	wait "$pid" 2>/dev/null
	set -e
	rm -f "$tmp/$1.pid"
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
