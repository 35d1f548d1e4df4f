# tests/lib/postfix.sh: a throwaway Postfix instance for tests and
# benchmarks, sourced after tests/lib/harness.sh.  Everything lives under one
# directory: its own config directory (postfix -c), queue, data, mail
# and log; it listens on 127.0.0.1 only, on a port chosen by the caller;
# nothing system-wide changes.  Postfix's master must start as root.
#
#	pf_setup DIR PORT [main.cf lines...]
#	pf_start / pf_stop	(pf_stop waits until every process is gone)
#
# It relays external.test to guestbox over LMTP when PF_LMTP is set
# (host:port), and delivers USER@home.test for each USER in PF_USERS
# (default: sender) to the Maildir DIR/mail/USER/, owned by PF_MAIL_USER
# (default nobody).

pf_dir=

pf_need()
{
	need postfix postconf
	if [ "$(id -u)" -ne 0 ]; then
		echo "# SKIP: Postfix's master must start as root" >&2
		exit 77
	fi
	[ -x /usr/lib/postfix/sbin/master ] || {
		echo "# SKIP: no /usr/lib/postfix/sbin/master" >&2
		exit 77
	}
}

pf_setup()
{
	local dir=$1 port=$2 l uid gid vmap
	shift 2
	pf_dir=$dir
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/mail"
	chmod 755 "$dir" "$dir/etc" "$dir/queue"
	chown postfix "$dir/data"
	uid=$(id -u "${PF_MAIL_USER:-nobody}")
	gid=$(id -g "${PF_MAIL_USER:-nobody}")
	chown "$uid:$gid" "$dir/mail"
	vmap=
	for l in ${PF_USERS:-sender}; do
		vmap="$vmap${vmap:+, }$l@home.test=$l/"
	done
	{
		echo "compatibility_level = 3.6"
		echo "queue_directory = $dir/queue"
		echo "data_directory = $dir/data"
		echo "mail_owner = postfix"
		echo "setgid_group = postdrop"
		echo "inet_interfaces = 127.0.0.1"
		echo "inet_protocols = ipv4"
		echo "myhostname = mx.home.test"
		echo "mydomain = home.test"
		echo "myorigin = home.test"
		echo "mydestination ="
		echo "mynetworks = 127.0.0.0/8"
		echo "alias_maps ="
		echo "alias_database ="
		echo "local_recipient_maps ="
		echo "biff = no"
		echo "smtputf8_enable = no"
		echo "maillog_file_prefixes = $dir"
		echo "maillog_file = $dir/maillog"
		echo "virtual_mailbox_domains = home.test"
		echo "virtual_mailbox_base = $dir/mail"
		echo "virtual_mailbox_maps = inline:{ $vmap }"
		echo "virtual_uid_maps = static:$uid"
		echo "virtual_gid_maps = static:$gid"
		echo "virtual_minimum_uid = 1"
		echo "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
		if [ -n "${PF_LMTP:-}" ]; then
			echo "relay_domains = external.test"
			echo "transport_maps = inline:{ external.test=lmtp:inet:$PF_LMTP }"
			echo "lmtp_tls_security_level = none"
		fi
		# Retry soon: tests do not wait for the default 5 minutes.
		echo "queue_run_delay = 2s"
		echo "minimal_backoff_time = 2s"
		echo "maximal_backoff_time = 4s"
		for l in "$@"; do echo "$l"; done
	} >"$dir/etc/main.cf"
	cat >"$dir/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	# More services (bench/bench-lmtp.sh adds an implicit TLS smtpd).
	[ -z "${PF_MASTER_EXTRA:-}" ] ||
	    printf '%s\n' "$PF_MASTER_EXTRA" >>"$dir/etc/master.cf"
	postfix -c "$dir/etc" check >"$dir/check.log" 2>&1 || {
		cat "$dir/check.log" >&2
		fail "postfix check"
	}
}

pf_master_pid()
{
	local p
	p=$(head -n 1 "$pf_dir/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

pf_start()
{
	postfix -c "$pf_dir/etc" start >"$pf_dir/start.log" 2>&1 || {
		cat "$pf_dir/start.log" "$pf_dir/maillog" >&2 2>/dev/null
		fail "postfix start"
	}
	gb_wait 20 pf_master_pid || fail "Postfix's master did not start"
	pf_pid=$(pf_master_pid)
	echo "$pf_pid" >"$pf_dir/master.pid.copy"
}

# The master and every process it started (its children).
pf_procs()
{
	local p=$1
	echo "$p"
	ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' '
}

pf_stop()
{
	local pids p
	[ -n "$pf_dir" ] && [ -f "$pf_dir/master.pid.copy" ] || return 0
	p=$(cat "$pf_dir/master.pid.copy")
	pids=$(pf_procs "$p")
	postfix -c "$pf_dir/etc" stop >/dev/null 2>&1 || true
	for p in $pids; do
		gb_wait_gone "$p" 20 || {
			echo "# Postfix process $p is still running; killing it" >&2
			kill -KILL "$p" 2>/dev/null || true
		}
	done
	rm -f "$pf_dir/master.pid.copy"
}

gb_extra_cleanup()
{
	pf_stop
}
