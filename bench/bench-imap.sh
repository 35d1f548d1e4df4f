#!/bin/sh
# bench-imap.sh: guestbox-imapd against Dovecot on this machine, in this
# run, with the same client (bench/bench-imap) over implicit TLS:
#
#   1. login latency, 50 LOGINs sent at the same moment: cold (no login
#      of these accounts yet: guestbox's auth cache is empty, since it
#      keys on account and password, and these are 50 distinct accounts),
#      then warm (the same again at once);
#   1b. uncached logins per second against the Argon2id ceiling (the
#      same hash in one thread per core, bench-imap -m ceiling, the mean
#      of a run just before and one just after), with 2
#      logged-in bystanders sending NOOP meanwhile, BENCH_LOGIN_ROUNDS
#      (3) times, guestbox-imapd restarted before each so that its auth
#      cache is empty; Dovecot (no cache) beside it;
#   2. resident memory per idle IMAP connection, 1,000 in IDLE;
#   3. the mixed workload at 10 and 50 clients: commands per second and
#      latency percentiles, and the ratio guestbox/Dovecot;
#   4. the largest number of idle TLS connections guestbox holds
#      (1,000 / 5,000 / 10,000).
#
# Both servers get the same accounts (u1..u50@bench.test), the same
# messages (tests/data/*.eml cycled, 200 per account: guestbox-provision
# deliver for guestbox, files in the Maildirs for Dovecot), the same
# self-signed certificate and loopback ports chosen at run time.
# guestbox runs with the Argon2id cost of the config defaults (what
# production uses); Dovecot's passwd-file holds {ARGON2ID} hashes of the
# same cost for the login test, and {PLAIN} passwords for the others,
# whose logins are not measured (Dovecot has no cache of verified
# passwords: 1,000 logins would take 1,000 hashes in its one auth process).
#
# Usage: bench/bench-imap.sh [--quick]   (from the build directory)
#   --quick: 10 s runs, 60 messages per account, K up to 1,000 only.
# Environment: BENCH_ACCOUNTS, BENCH_MESSAGES, BENCH_DURATION,
#   BENCH_WARMUP, BENCH_CLIENTS ("10 50"), BENCH_IDLE (1000),
#   BENCH_MAXK ("1000 5000 10000"), BENCH_ROUNDS (2: the load runs
#   alternate between the servers this often; the best of each counts),
#   BENCH_NICE=-10 runs both servers and the client at that niceness
#   (root only), in a session of their own whose scheduler autogroup
#   gets it too, so that other work on a shared machine disturbs less;
#   the CPU wait column of the summary shows how much it still did,
#   BENCH_KEEP=1 keeps the directory,
#   BENCH_IMAP_WORKERS="1 2": the mixed workload once for each of these
#   imap_workers values (guestbox-imapd restarted with it), beside the
#   same Dovecot runs; unset, guestbox runs with the default,
#   BENCH_ONLY=login: only parts 1 and 1b (set BENCH_MESSAGES=5 too for
#   a quick setup).
# Everything it starts is stopped by its PID, however it ends.
set -eu

# With autogroups (Linux), nice counts only within a session's group:
# the run gets a session of its own, and its group the niceness.
if [ -n "${BENCH_NICE:-}" ] && [ -z "${BENCH_IMAP_CHILD:-}" ] &&
    command -v setsid > /dev/null 2>&1; then
	# A background job is no group leader: setsid does not fork.
	BENCH_IMAP_CHILD=1 setsid sh "$0" "$@" &
	child=$!
	trap 'kill -TERM $child 2> /dev/null' INT TERM HUP
	wait $child || rc=$?
	wait $child 2> /dev/null || true
	exit ${rc:-0}
fi
if [ -n "${BENCH_NICE:-}" ]; then
	echo "$BENCH_NICE" 2> /dev/null > /proc/self/autogroup || true
	renice -n "$BENCH_NICE" -p $$ > /dev/null 2>&1 || true
fi

build=$(pwd)
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
accounts=${BENCH_ACCOUNTS:-50}
messages=${BENCH_MESSAGES:-200}
duration=${BENCH_DURATION:-30}
warmup=${BENCH_WARMUP:-5}
clients_list=${BENCH_CLIENTS:-10 50}
idle_k=${BENCH_IDLE:-1000}
maxk_list=${BENCH_MAXK:-1000 5000 10000}
rounds=${BENCH_ROUNDS:-2}
workers_list=${BENCH_IMAP_WORKERS:-}
login_rounds=${BENCH_LOGIN_ROUNDS:-3}
ncpu=$(getconf _NPROCESSORS_ONLN)
if [ "${1:-}" = --quick ]; then
	messages=${BENCH_MESSAGES:-60}
	duration=${BENCH_DURATION:-10}
	warmup=${BENCH_WARMUP:-3}
	maxk_list=${BENCH_MAXK:-1000}
	rounds=${BENCH_ROUNDS:-1}
fi
password='correct horse battery staple'
B=$build/bench/bench-imap
for p in "$B" "$build/guestbox-imapd" "$build/guestbox-provision" \
    "$build/tests/gb-activate"; do
	[ -x "$p" ] || { echo "bench-imap.sh: $p is not built (make bench)" >&2; exit 1; }
done
dovecot=$(command -v dovecot || true)
[ -n "$dovecot" ] || [ ! -x /usr/sbin/dovecot ] || dovecot=/usr/sbin/dovecot
[ -n "$dovecot" ] || { echo "bench-imap.sh: dovecot is not installed (apt-get install dovecot-imapd)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/gb-bench-imap.XXXXXX)
chmod 755 "$tmp"
gb_pid=
dv_pid=
cleanup()
{
	set +e
	for pid in $gb_pid $dv_pid; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $gb_pid $dv_pid; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -d "$tmp/gnupg" ] && gpgconf --homedir "$tmp/gnupg" --kill all 2>/dev/null
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# 10,000 connections need as many descriptors in the server and here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)

if [ "$(id -u)" = 0 ]; then
	user=nobody
	group=$(id -gn nobody)
	run_as() { setpriv --reuid=nobody --regid="$group" --clear-groups "$@"; }
else
	user=$(id -un)
	group=$(id -gn)
	run_as() { "$@"; }
fi

free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port()
{
	# wait_port PORT PID NAME LOG
	local i=0
	while ! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		if ! kill -0 "$2" 2>/dev/null || [ $i -ge 200 ]; then
			echo "bench-imap.sh: $3 did not start:" >&2
			cat "$4" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# "RESULT k=v k=v": the value of k.
result()
{
	sed -n 's/^RESULT .*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -n 1
}

ratio()
{
	python3 -c 'import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
}

echo "== bench-imap: guestbox-imapd against Dovecot $("$dovecot" --version | cut -d' ' -f1)"
echo "   $(nproc) cores, $(uname -r), $accounts accounts x $messages messages," \
    "ulimit -n $nofile, $tmp"

# ---- shared: certificate, corpus ------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
chmod 644 "$tmp/key.pem" "$tmp/cert.pem"
ls "$srcdir"/tests/data/*.eml > "$tmp/corpus"
ncorpus=$(wc -l < "$tmp/corpus")

# ---- guestbox --------------------------------------------------------
gb_port=$(free_port)
mkdir -m 700 "$tmp/gb" "$tmp/gb/state" "$tmp/gnupg"
cat > "$tmp/gb/guestbox.conf" <<CONF
state_dir = $tmp/gb/state
user = $user
public_url = https://guestbox.bench
tls_cert = $tmp/cert.pem
tls_key = $tmp/key.pem
imap_listen = 127.0.0.1:$gb_port tls
# One address holds every benchmark connection.
max_connections_per_ip = 1000000
max_connections_per_account = 100000
db_log_keep_for_backup = no
CONF
chown -R "$user" "$tmp/gb"
chmod 755 "$tmp/gb"
gpg --homedir "$tmp/gnupg" --batch --quiet --pinentry-mode loopback \
    --passphrase '' --quick-gen-key 'Sender <sender@home.test>' \
    future-default default never 2>/dev/null
gpg --homedir "$tmp/gnupg" --batch --armor --export sender@home.test \
    > "$tmp/sender.asc"
chmod 644 "$tmp/sender.asc"

gp() { "$build/guestbox-provision" -c "$tmp/gb/guestbox.conf" "$@"; }

# gb_account N: create, activate (Argon2id at the default cost), deliver.
gb_account()
{
	local n=$1 link j f
	link=$(gp create --recipient "u$n@bench.test" --sender sender@home.test \
	    --sender-key "$tmp/sender.asc" --pin none | sed -n 's/^link: *//p')
	run_as "$build/tests/gb-activate" "$tmp/gb/guestbox.conf" "$link" \
	    "$password" > /dev/null
	j=0
	while [ $j -lt "$messages" ]; do
		f=$(sed -n "$((j % ncorpus + 1))p" "$tmp/corpus")
		gp deliver --recipient "u$n@bench.test" < "$f"
		j=$((j + 1))
	done
}

# Two at a time: this machine has two cores.
start=$(date +%s)
n=1
while [ $n -le "$accounts" ]; do
	gb_account $n > "$tmp/gb/setup.$n.log" 2>&1 &
	p1=$!
	p2=
	if [ $((n + 1)) -le "$accounts" ]; then
		gb_account $((n + 1)) > "$tmp/gb/setup.$((n + 1)).log" 2>&1 &
		p2=$!
	fi
	wait $p1 || { cat "$tmp/gb/setup.$n.log" >&2; exit 1; }
	[ -z "$p2" ] || wait $p2 || { cat "$tmp/gb/setup.$((n + 1)).log" >&2; exit 1; }
	n=$((n + 2))
done
echo "   guestbox: $accounts accounts created, activated and filled in $(( $(date +%s) - start )) s"

# ---- Dovecot ---------------------------------------------------------
dv_port=$(free_port)
mkdir -p "$tmp/dv/run" "$tmp/dv/state" "$tmp/dv/mail" "$tmp/dv/home"
if [ "$(id -u)" = 0 ]; then
	# imap-login refuses root: Debian's own users, as tests/mime-dovecot.test.
	iu=dovecot
	lu=dovenull
	id dovecot > /dev/null 2>&1 && id dovenull > /dev/null 2>&1 || iu=nobody lu=nobody
	mail_uid=$(id -u nobody)
	mail_gid=$(id -g nobody)
else
	iu=$(id -un)
	lu=$iu
	mail_uid=$(id -u)
	mail_gid=$(id -g)
fi
ig=$(id -gn "$iu")
cat > "$tmp/dv/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $tmp/dv/run
state_dir = $tmp/dv/state
instance_name = guestbox-bench-$$
log_path = $tmp/dv/dovecot.log
ssl = required
ssl_cert = <$tmp/cert.pem
ssl_key = <$tmp/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain
default_internal_user = $iu
default_internal_group = $ig
default_login_user = $lu
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:$tmp/dv/mail/%u
passdb {
  driver = passwd-file
  args = username_format=%u $tmp/dv/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $tmp/dv/passwd
}
# Room for 1,000 idle connections: an imap and an imap-login process each
# (the default high-security mode; the login process proxies TLS).
default_process_limit = 12000
default_client_limit = 30000
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $dv_port
    ssl = yes
  }
}
service anvil {
  chroot =
}
protocol imap {
  mail_max_userip_connections = 100000
}
CONF

# passwd-file lines; dv_passwd SCHEME-AND-SECRET
dv_passwd()
{
	local n=1
	: > "$tmp/dv/passwd.new"
	while [ $n -le "$accounts" ]; do
		echo "u$n@bench.test:$1:$mail_uid:$mail_gid::$tmp/dv/home/u$n@bench.test::" \
		    >> "$tmp/dv/passwd.new"
		n=$((n + 1))
	done
	chmod 644 "$tmp/dv/passwd.new"
	# Dovecot rereads the file when its mtime changes.
	mv "$tmp/dv/passwd.new" "$tmp/dv/passwd"
}
argon=$("$B" -m hash -P "$password" -O 2 -M 67108864)
dv_passwd "$argon"

# One Maildir with the same messages as guestbox's INBOX, then copies.
md=$tmp/dv/mail/u1@bench.test
mkdir -p "$md/cur" "$md/new" "$md/tmp"
j=0
while [ $j -lt "$messages" ]; do
	f=$(sed -n "$((j % ncorpus + 1))p" "$tmp/corpus")
	cp "$f" "$md/cur/$((1700000000 + j)).M${j}P1.bench:2,"
	j=$((j + 1))
done
n=2
while [ $n -le "$accounts" ]; do
	cp -a "$md" "$tmp/dv/mail/u$n@bench.test"
	mkdir -p "$tmp/dv/home/u$n@bench.test"
	n=$((n + 1))
done
mkdir -p "$tmp/dv/home/u1@bench.test"
chown -R "$mail_uid:$mail_gid" "$tmp/dv/mail" "$tmp/dv/home"

# ---- start both ------------------------------------------------------
# Other work on the machine shows here (and slows down the numbers).
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"$build/guestbox-imapd" -d -c "$tmp/gb/guestbox.conf" > "$tmp/gb/imapd.log" 2>&1 &
gb_pid=$!
"$dovecot" -F -c "$tmp/dv/dovecot.conf" > "$tmp/dv/stderr.log" 2>&1 &
dv_pid=$!
wait_port "$gb_port" "$gb_pid" guestbox-imapd "$tmp/gb/imapd.log"
wait_port "$dv_port" "$dv_pid" dovecot "$tmp/dv/stderr.log"

# The servers of the mixed workload: gb (the default imap_workers) or
# gbN (imap_workers = N), and dv.
servers="gb dv"
if [ -n "$workers_list" ]; then
	servers=
	for w in $workers_list; do
		servers="$servers gb$w"
	done
	servers="${servers# } dv"
fi
srv_port() { case $1 in dv) echo "$dv_port" ;; *) echo "$gb_port" ;; esac; }
srv_pid() { case $1 in dv) echo "$dv_pid" ;; *) echo "$gb_pid" ;; esac; }
srv_name()
{
	case $1 in
	dv) echo dovecot ;;
	gb) echo guestbox ;;
	*) echo "gb w=${1#gb}" ;;
	esac
}

gb_restart()
{
	# gb_restart N: guestbox-imapd again, with imap_workers = N
	# (empty: the default).  Its auth cache starts empty.
	kill -TERM "$gb_pid"
	wait "$gb_pid" 2> /dev/null || true
	sed -i '/^imap_workers = /d' "$tmp/gb/guestbox.conf"
	[ -z "$1" ] || echo "imap_workers = $1" >> "$tmp/gb/guestbox.conf"
	"$build/guestbox-imapd" -d -c "$tmp/gb/guestbox.conf" >> "$tmp/gb/imapd.log" 2>&1 &
	gb_pid=$!
	wait_port "$gb_port" "$gb_pid" guestbox-imapd "$tmp/gb/imapd.log"
}

run()
{
	# run LABEL ARGS...: bench-imap with its output shown and kept.
	local label=$1
	shift
	echo "-- $label"
	"$B" "$@" > "$tmp/$label.out" 2> "$tmp/$label.err" || true
	cut -d' ' -f1 /proc/loadavg > "$tmp/$label.load"
	sed 's/^/   /' "$tmp/$label.out"
	if [ -s "$tmp/$label.err" ]; then
		echo "   errors (first lines):"
		head -n 5 "$tmp/$label.err" | sed 's/^/   ! /'
	fi
	# A server that died is a finding, not a zero in the table.
	if [ -z "$gb_dead" ] && ! kill -0 "$gb_pid" 2> /dev/null; then
		gb_dead=$label
		echo "   !!! guestbox-imapd (pid $gb_pid) is gone after $label; its log ends:"
		tail -n 20 "$tmp/gb/imapd.log" | sed 's/^/   ! /'
	fi
	if [ -z "$dv_dead" ] && ! kill -0 "$dv_pid" 2> /dev/null; then
		dv_dead=$label
		echo "   !!! dovecot (pid $dv_pid) is gone after $label; its log ends:"
		tail -n 20 "$tmp/dv/dovecot.log" | sed 's/^/   ! /'
	fi
}
gb_dead=
dv_dead=

echo
echo "== 1. login latency, 50 LOGINs at the same moment (TLS set up before)"
nlogin=50
[ "$accounts" -ge $nlogin ] || nlogin=$accounts
run login-gb-cold -m login -p "$gb_port" -c $nlogin -a $nlogin
run login-dv-cold -m login -p "$dv_port" -c $nlogin -a $nlogin
run login-gb-warm -m login -p "$gb_port" -c $nlogin -a $nlogin
run login-dv-warm -m login -p "$dv_port" -c $nlogin -a $nlogin

# 1b. The goal of issue 13: uncached logins at 90% or more of what the
# cores can hash, while the sessions already there stay answered.
nbyst=2
nburst=$((accounts - nbyst))
if [ $nburst -ge 10 ]; then
	echo
	echo "== 1b. $nburst uncached logins at once against the Argon2id ceiling, $nbyst bystanders, $login_rounds rounds"
	r=1
	while [ $r -le "$login_rounds" ]; do
		# The ceiling just before and just after, for a load that drifts.
		run ceiling-$r-a -m ceiling -c "$ncpu" -d 3 -P "$password" \
		    -O 2 -M 67108864
		gb_restart ""
		run burst-gb-$r -m login -p "$gb_port" -c $nburst -a $nburst \
		    -b $nbyst
		run ceiling-$r-b -m ceiling -c "$ncpu" -d 3 -P "$password" \
		    -O 2 -M 67108864
		run burst-dv-$r -m login -p "$dv_port" -c $nburst -a $nburst \
		    -b $nbyst
		r=$((r + 1))
	done
fi
login_summary()
{
	[ $nburst -ge 10 ] || return 0
	echo "uncached logins/s ($nburst at once) against the Argon2id ceiling ($ncpu threads), $nbyst bystanders' NOOP p99 ms:"
	printf '  %5s %8s %8s %6s %8s %8s %8s %5s\n' round ceiling guestbox ratio "gb p99" dovecot "dv p99" load
	r=1
	while [ $r -le "$login_rounds" ]; do
		ce=$(python3 -c 'import sys; print("%.2f" % ((float(sys.argv[1] or 0) + float(sys.argv[2] or 0)) / 2))' \
		    "$(result "$tmp/ceiling-$r-a.out" rate)" "$(result "$tmp/ceiling-$r-b.out" rate)")
		gr=$(result "$tmp/burst-gb-$r.out" rate)
		printf '  %5s %8s %8s %6s %8s %8s %8s %5s\n' $r "$ce" "$gr" \
		    "$(ratio "$gr" "$ce")" \
		    "$(result "$tmp/burst-gb-$r.out" noop_p99)" \
		    "$(result "$tmp/burst-dv-$r.out" rate)" \
		    "$(result "$tmp/burst-dv-$r.out" noop_p99)" \
		    "$(cat "$tmp/burst-gb-$r.load")"
		r=$((r + 1))
	done
}
if [ "${BENCH_ONLY:-}" = login ]; then
	echo
	echo "== summary"
	login_summary
	exit 0
fi
dv_passwd "{PLAIN}$password"

echo
echo "== 2. memory per idle IMAP connection, $idle_k in IDLE over TLS"
run idle-gb -m idle -p "$gb_port" -c "$idle_k" -a "$accounts" -s "$gb_pid"
run idle-dv -m idle -p "$dv_port" -c "$idle_k" -a "$accounts" -s "$dv_pid" \
    -n imap,imap-login
# Dovecot's processes of those connections must be gone before the load.
sleep 3

echo
echo "== 3. mixed workload, ${duration} s after ${warmup} s of warm-up, $rounds round(s)"
r=1
while [ $r -le "$rounds" ]; do
	for s in $servers; do
		case $s in
		gb?*) gb_restart "${s#gb}" ;;
		esac
		for c in $clients_list; do
			a=$c
			[ "$a" -le "$accounts" ] || a=$accounts
			run load-$s-$c-$r -m load -p "$(srv_port $s)" -c "$c" \
			    -a "$a" -d "$duration" -w "$warmup" -s "$(srv_pid $s)"
		done
	done
	r=$((r + 1))
done
# The best round of each: anything else on the machine only slows down.
for c in $clients_list; do
	for s in $servers; do
		best=
		r=1
		while [ $r -le "$rounds" ]; do
			echo "$(result "$tmp/load-$s-$c-$r.out" cps) $r"
			r=$((r + 1))
		done | sort -rn | head -n 1 | cut -d' ' -f2 > "$tmp/best"
		cp "$tmp/load-$s-$c-$(cat "$tmp/best").out" "$tmp/load-$s-$c.out"
		cp "$tmp/load-$s-$c-$(cat "$tmp/best").load" "$tmp/load-$s-$c.load"
	done
done

echo
echo "== 4. idle TLS connections guestbox holds"
maxk=0
for k in $maxk_list; do
	if [ $((k + 64)) -gt "$nofile" ]; then
		echo "-- $k: skipped, ulimit -n is $nofile"
		break
	fi
	run maxk-gb-$k -m idle -p "$gb_port" -c "$k" -a "$accounts" -s "$gb_pid" -t 10
	held=$(result "$tmp/maxk-gb-$k.out" held)
	if [ "${held:-0}" -ne "$k" ]; then
		break
	fi
	maxk=$k
	sleep 2
done

# ---- summary ---------------------------------------------------------
echo
echo "== summary (guestbox-imapd / Dovecot $("$dovecot" --version | cut -d' ' -f1), same machine, same run)"
echo "load average at the start: $load_start; now: $(cut -d' ' -f1-3 /proc/loadavg)${BENCH_NICE:+; niceness $(ps -o ni= -p $$ | tr -d ' '), $(cat /proc/self/autogroup 2>/dev/null)}"
echo "mixed workload (best of $rounds round(s) each):"
# cmd per CPU-s: commands per second of server CPU (guestbox has one
# thread for sessions, Dovecot a process per connection).
# CPU wait: time the server's processes were runnable but had no CPU.
# CPU s: the server's CPU seconds in the measured time.  load: the load
# average (1 min) at the end of that run.
printf '%-9s %-9s %9s %8s %8s %8s %7s %10s %9s %10s %7s %5s\n' clients server "cmd/s" \
    "p50 ms" "p90 ms" "p99 ms" errors "server CPU" "CPU wait" "cmd/CPU-s" \
    "CPU s" load
for c in $clients_list; do
	for s in $servers; do
		f=$tmp/load-$s-$c.out
		printf '%-9s %-9s %9s %8s %8s %8s %7s %9s%% %8s%% %10s %7s %5s\n' "$c" \
		    "$(srv_name $s)" \
		    "$(result "$f" cps)" "$(result "$f" p50)" "$(result "$f" p90)" \
		    "$(result "$f" p99)" "$(result "$f" errors)" \
		    "$(result "$f" server_cpu)" "$(result "$f" server_wait)" \
		    "$(ratio "$(result "$f" cps)" "$(python3 -c 'import sys; print(float(sys.argv[1] or 0) / 100)' "$(result "$f" server_cpu)")" | sed 's/\.[0-9]*$//')" \
		    "$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[1] or 0) * float(sys.argv[2]) / 100))' "$(result "$f" server_cpu)" "$duration")" \
		    "$(cat "$tmp/load-$s-$c.load" 2> /dev/null)"
	done
	for s in $servers; do
		[ "$s" != dv ] || continue
		printf '%-9s %-9s %9s\n' "$c" "ratio" \
		    "$(ratio "$(result "$tmp/load-$s-$c.out" cps)" "$(result "$tmp/load-dv-$c.out" cps)")${workers_list:+ ($(srv_name $s) / dovecot)}"
	done
done
echo
echo "memory per idle connection ($idle_k in IDLE, TLS):"
printf '  guestbox  VmRSS %7s kB  Pss %7s kB  (%s of %s held)\n' \
    "$(result "$tmp/idle-gb.out" rss_per_conn_kb)" \
    "$(result "$tmp/idle-gb.out" pss_per_conn_kb)" \
    "$(result "$tmp/idle-gb.out" held)" "$idle_k"
printf '  dovecot   VmRSS %7s kB  Pss %7s kB  (%s of %s held; %s imap and imap-login processes)\n' \
    "$(result "$tmp/idle-dv.out" rss_per_conn_kb)" \
    "$(result "$tmp/idle-dv.out" pss_per_conn_kb)" \
    "$(result "$tmp/idle-dv.out" held)" "$idle_k" \
    "$(result "$tmp/idle-dv.out" procs_after)"
echo "largest K idle TLS connections held on guestbox: $maxk (tried: $maxk_list)"
[ -z "$gb_dead" ] || echo "!!! guestbox-imapd died during $gb_dead: the numbers after it are not valid"
[ -z "$dv_dead" ] || echo "!!! dovecot died during $dv_dead: the numbers after it are not valid"
echo "login latency, $nlogin LOGINs at once, ms (p50 / p99):"
for s in gb dv; do
	printf '  %-9s cold %7s / %7s   warm %7s / %7s\n' \
	    "$( [ $s = gb ] && echo guestbox || echo dovecot)" \
	    "$(result "$tmp/login-$s-cold.out" p50)" "$(result "$tmp/login-$s-cold.out" p99)" \
	    "$(result "$tmp/login-$s-warm.out" p50)" "$(result "$tmp/login-$s-warm.out" p99)"
done
echo "  (cold: $nlogin distinct accounts never logged in, guestbox's auth cache empty;"
echo "   warm: the same again at once: guestbox answers from its cache, Dovecot"
echo "   has none and hashes again; both Argon2id m=64 MiB t=2)"
login_summary
