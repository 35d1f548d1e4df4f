#!/bin/bash
# bench/bench-lmtp.sh: guestbox-submitd against Dovecot and Postfix on
# this machine, in this run, with the same client: smtp-source from the
# postfix package.
#
#   1. LMTP delivery of 10 KiB messages, durable (guestbox acknowledges
#      each only once the Berkeley DB log holding it is on disk, one
#      flush for many sessions' commits: guestbox(7), DURABILITY;
#      Dovecot's LMTP writes Maildir with mail_fsync = always),
#      guestbox-submitd against dovecot-lmtpd, both up at once, each
#      session count in turn, round after round: on an idle machine,
#      then while a load runs beside both (a busy loop per CPU and a
#      writer that fdatasyncs 8 MiB at a time onto the same disk), so
#      that both meet the same load.  The 1-minute load average at the
#      end of each run is printed beside its figure.
#   2. Submission accept rate: guestbox-submitd over implicit TLS with
#      AUTH (each message checked, encrypted with GnuPG, filed to
#      Gesendet and queued, in one commit) against Postfix's smtpd
#      accepting into its queue (fsync before 250; mail put on hold so
#      that no delivery runs meanwhile) plain, and over implicit TLS
#      through the same proxy.  smtp-source speaks neither TLS nor AUTH:
#      bench/smtp-auth-proxy.py does that part for it.  Then gpg alone,
#      encrypting the same 10 KiB to the same key in one loop per CPU:
#      the ceiling that one gpg process per message sets.
#
# Prints messages per second and the ratios.  Postfix and Dovecot's
# master must start as root.
# Usage: bench/bench-lmtp.sh      (from the build directory; make bench)
# Environment: BENCH_LMTP (messages a run, default 2000), BENCH_SUBMIT
#   (300), BENCH_POSTFIX (2000), BENCH_SESSIONS (LMTP parallel sessions,
#   "4 16"; submission uses the first), BENCH_ROUNDS (3),
#   BENCH_LOADS ("idle loaded"), BENCH_SUBMISSION (yes; no skips part 2),
#   BENCH_KEEP=1 keeps the directory.
set -eu

build=$(pwd)
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$build
n_lmtp=${BENCH_LMTP:-2000}
n_sub=${BENCH_SUBMIT:-300}
n_pf=${BENCH_POSTFIX:-2000}
sessions=${BENCH_SESSIONS:-4 16}
sess=${sessions%% *}
rounds=${BENCH_ROUNDS:-3}
loads=${BENCH_LOADS:-idle loaded}
do_submit=${BENCH_SUBMISSION:-yes}
[ -z "${BENCH_KEEP:-}" ] || KEEP_TMP=always

. "$srcdir/tests/lib/harness.sh"
. "$srcdir/tests/lib/postfix.sh"

need smtp-source dovecot python3 gpg openssl
pf_need
gb_setup
export tmp

set -- $(gb_ports 5)
P_DOVECOT=$1 P_PF=$2 P_PFTLS=$3 P_PROXY_GB=$4 P_PROXY_PF=$5

rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }

loadavg() { cut -d' ' -f1 /proc/loadavg; }

# smtp-source N ARGS...: runs it and prints the seconds it took
# (SESSIONS: parallel sessions, default $sess).
source_run()
{
	local n=$1 t0 t1
	shift
	t0=$(now)
	smtp-source -s "${SESSIONS:-$sess}" -m "$n" -l 10240 -M client.test "$@" \
	    >"$tmp/source.log" 2>&1 || { cat "$tmp/source.log" >&2;
	    fail "smtp-source $*"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

# The load beside both servers: a busy loop per CPU, and a writer that
# overwrites a 64 MiB file 8 MiB at a time, each write fdatasync'ed.
load_start()
{
	local i
	for i in $(seq "$(nproc)"); do
		gb_start "load-cpu-$i" python3 -c 'while True: pass'
	done
	gb_start load-disk python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
buf = os.urandom(8 << 20)
i = 0
while True:
    os.pwrite(fd, buf, (i % 8) * len(buf))
    os.fdatasync(fd)
    i += 1' "$tmp/load-disk.dat"
	# Let the load average see it.
	sleep 20
}

load_stop()
{
	local name pid
	for name in $(seq -f 'load-cpu-%g' "$(nproc)") load-disk; do
		pid=$(cat "$tmp/$name.pid")
		kill -TERM "$pid" 2>/dev/null || true
		gb_wait_gone "$pid" 20 || true
		rm -f "$tmp/$name.pid"
	done
	rm -f "$tmp/load-disk.dat"
}

echo "== bench-lmtp: $(nproc) CPUs; LMTP sessions: $sessions; 10 KiB messages; $rounds rounds; loads: $loads"

# ----------------------------------------------------------------
# guestbox: no smarthost (the replies stay queued, as for Postfix's hold)
gb_conf "db_log_keep_for_backup = no"
sed -i '/^smarthost/d' "$C"
PW='correct horse battery staple'
gb_mailbox bench@external.test "$PW"
gb_mailbox inbox@external.test ""
gb_start_submitd

smtp-source -L -s 1 -m 20 -l 10240 -f sender@home.test \
    -t inbox@external.test "127.0.0.1:$P_LMTP" >/dev/null 2>&1

section "LMTP: Dovecot"
dv=$tmp/dovecot
mkdir -p "$dv/run" "$dv/state" "$dv/mail"
chown "$gb_user" "$dv/mail"
iu=dovecot ig=dovecot lu=dovenull
id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 || iu=nobody ig=nogroup lu=nobody
cat >"$dv/dovecot.conf" <<EOF
protocols = lmtp
listen = 127.0.0.1
base_dir = $dv/run
state_dir = $dv/state
instance_name = guestbox-bench-lmtp-$$
log_path = $dv/dovecot.log
ssl = no
default_internal_user = $iu
default_internal_group = $ig
default_login_user = $lu
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:$dv/mail/%u
mail_fsync = always
lmtp_rcpt_check_quota = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=$(id -u "$gb_user") gid=$(id -g "$gb_user") home=$dv/mail/%u
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $P_DOVECOT
  }
  unix_listener lmtp {
    mode = 0600
  }
}
EOF
gb_start dovecot dovecot -F -c "$dv/dovecot.conf"
dv_up() { smtp-source -L -s 1 -m 1 -l 100 -f a@home.test -t warmup \
    "127.0.0.1:$P_DOVECOT" >/dev/null 2>&1; }
gb_wait 20 dv_up || { cat "$dv/dovecot.log" "$tmp/dovecot.log" >&2;
    fail "Dovecot's LMTP did not come up"; }
smtp-source -L -s 1 -m 20 -l 10240 -f sender@home.test -t inbox \
    "127.0.0.1:$P_DOVECOT" >/dev/null 2>&1

# ----------------------------------------------------------------
section "LMTP: guestbox-submitd and Dovecot, $rounds rounds"
# results: "load sessions round gb-rate gb-loadavg dv-rate dv-loadavg"
: >"$tmp/lmtp.results"
n_runs=0
for load in $loads; do
	[ "$load" = idle ] || load_start
	for s in $sessions; do
		for r in $(seq "$rounds"); do
			t_gb=$(SESSIONS=$s source_run "$n_lmtp" -L -d \
			    -f sender@home.test -t inbox@external.test \
			    "127.0.0.1:$P_LMTP")
			la_gb=$(loadavg)
			t_dv=$(SESSIONS=$s source_run "$n_lmtp" -L -d \
			    -f sender@home.test -t inbox "127.0.0.1:$P_DOVECOT")
			la_dv=$(loadavg)
			n_runs=$((n_runs + 1))
			echo "$load $s $r $(rate "$n_lmtp" "$t_gb") $la_gb" \
			    "$(rate "$n_lmtp" "$t_dv") $la_dv" >>"$tmp/lmtp.results"
			echo "  $(tail -n 1 "$tmp/lmtp.results")"
		done
	done
	[ "$load" = idle ] || load_stop
done
run 0 gp --json show inbox@external.test
got=$(jget "$out" '[m["messages"] for m in d["mailboxes"] if m["name"] == "INBOX"][0]')
same "messages delivered by guestbox's LMTP" "$got" $((n_runs * n_lmtp + 20))
got=$(ls "$dv/mail/inbox/new" | wc -l)
same "messages Dovecot delivered" "$got" $((n_runs * n_lmtp + 20))
kill -TERM "$(cat "$tmp/dovecot.pid")"
gb_wait_gone "$(cat "$tmp/dovecot.pid")" 20 || true

if [ "$do_submit" = yes ]; then
section "submission: guestbox-submitd (TLS, AUTH, PGP/MIME, Gesendet, queue)"
gb_start proxy-gb python3 "$srcdir/bench/smtp-auth-proxy.py" \
    --listen "$P_PROXY_GB" --upstream "$P_SMTPS" --user bench@external.test \
    --password "$PW"
gb_wait_log proxy-gb '^listening'
smtp-source -s 1 -m 5 -l 10240 -f bench@external.test -t sender@home.test \
    "127.0.0.1:$P_PROXY_GB" >/dev/null 2>&1
t_gb_sub=$(source_run "$n_sub" -d -f bench@external.test \
    -t sender@home.test "127.0.0.1:$P_PROXY_GB")
run 0 gp --json show bench@external.test
got=$(jget "$out" '[m["messages"] for m in d["mailboxes"] if m["name"] == "Gesendet"][0]')
same "messages filed to Gesendet" "$got" $((n_sub + 5))
run 0 gp --json queue
same "messages queued" "$(jget "$out" 'len(d)')" $((n_sub + 5))
fi
gb_stop submitd

# ----------------------------------------------------------------
# What GnuPG alone allows: every submission runs one gpg process (GPGME
# has no other way), so gpg encrypting the same 10 KiB message to the
# same key, one loop per CPU, is the ceiling of guestbox's submission
# rate on this machine whatever submitd does around it.
if [ "$do_submit" = yes ]; then
section "GnuPG alone: gpg --encrypt of 10 KiB, one loop per CPU"
head -c 10240 /dev/urandom >"$tmp/gpg-msg"
gpg_loop()
{
	local i
	for i in $(seq "$1"); do
		GNUPGHOME=$tmp/sender-gnupg gpg --batch --quiet --trust-model always \
		    --armor --encrypt -r sender@home.test -o - "$tmp/gpg-msg" \
		    >/dev/null || return 1
	done
}
per=$(( (n_sub + $(nproc) - 1) / $(nproc) ))
t0=$(now)
pids=
for i in $(seq "$(nproc)"); do gpg_loop "$per" & pids="$pids $!"; done
for p in $pids; do wait "$p" || fail "gpg --encrypt failed"; done
t1=$(now)
t_gpg=$(elapsed "$t0" "$t1")
n_gpg=$((per * $(nproc)))
fi

# ----------------------------------------------------------------
if [ "$do_submit" = yes ]; then
section "submission: Postfix smtpd"
PF_MASTER_EXTRA="127.0.0.1:$P_PFTLS inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt" \
    pf_setup "$tmp/postfix" "$P_PF" \
    "smtpd_tls_cert_file = $tmp/cert.pem" \
    "smtpd_tls_key_file = $tmp/key.pem" \
    "smtpd_end_of_data_restrictions = check_client_access inline:{ 127.0.0.1=HOLD }"
pf_start
pf_held() { find "$tmp/postfix/queue/hold" -type f | wc -l; }
smtp-source -s 1 -m 20 -l 10240 -f bench@external.test -t sender@home.test \
    "127.0.0.1:$P_PF" >/dev/null 2>&1
t_pf=$(source_run "$n_pf" -d -f bench@external.test -t sender@home.test \
    "127.0.0.1:$P_PF")
pf_has() { [ "$(pf_held)" -ge "$1" ]; }
gb_wait 30 pf_has $((n_pf + 20)) ||
    fail "Postfix holds $(pf_held) messages, not $((n_pf + 20))"
gb_start proxy-pf python3 "$srcdir/bench/smtp-auth-proxy.py" \
    --listen "$P_PROXY_PF" --upstream "$P_PFTLS"
gb_wait_log proxy-pf '^listening'
t_pftls=$(source_run "$n_pf" -d -f bench@external.test -t sender@home.test \
    "127.0.0.1:$P_PROXY_PF")
gb_wait 30 pf_has $((2 * n_pf + 20)) ||
    fail "Postfix holds $(pf_held) messages, not $((2 * n_pf + 20))"
pf_stop
fi

# ----------------------------------------------------------------
echo
echo "== summary (same machine, same run, smtp-source -d, 10 KiB)"
printf 'LMTP delivery, durable (%d messages a run; msg/s [1-minute load average\n' "$n_lmtp"
printf 'at the end of the run]; "loaded": a busy loop per CPU and an fdatasync writer):\n'
python3 - "$tmp/lmtp.results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print("  %-7s %8s %5s  %-16s %-16s %s" % ("load", "sessions", "round",
      "guestbox-submitd", "dovecot-lmtpd", "ratio"))
groups = {}
for load, s, r, gb, lgb, dv, ldv in rows:
    ratio = float(gb) / float(dv)
    groups.setdefault((load, int(s)), []).append(ratio)
    print("  %-7s %8s %5s  %6s [%5s]   %6s [%5s]   %5.2f" % (load, s, r,
          gb, lgb, dv, ldv, ratio))
print("  ratio guestbox/dovecot (median, min-max of the rounds):")
for (load, s), rs in groups.items():
    print("  %-7s %2d sessions  %5.2f  (%.2f-%.2f)" % (load, s,
          statistics.median(rs), min(rs), max(rs)))
EOF
[ "$do_submit" = yes ] || exit 0
r_gb_sub=$(rate "$n_sub" "$t_gb_sub")
r_pf=$(rate "$n_pf" "$t_pf")
r_pftls=$(rate "$n_pf" "$t_pftls")
printf 'Submission accept rate (smtp-source -s %d -d, 10 KiB):\n' "$sess"
printf '  guestbox-submitd, TLS+AUTH+PGP/MIME (%d)   %6s msg/s\n' "$n_sub" "$r_gb_sub"
printf '  Postfix smtpd, plain (%d)                  %6s msg/s\n' "$n_pf" "$r_pf"
printf '  Postfix smtpd, TLS via the proxy (%d)      %6s msg/s\n' "$n_pf" "$r_pftls"
printf '  ratio guestbox/postfix plain              %6s\n' "$(ratio "$r_gb_sub" "$r_pf")"
printf '  ratio guestbox/postfix TLS                %6s\n' "$(ratio "$r_gb_sub" "$r_pftls")"
r_gpg=$(rate "$n_gpg" "$t_gpg")
printf '  gpg --encrypt alone, %d loops (%d)          %6s msg/s\n' "$(nproc)" "$n_gpg" "$r_gpg"
printf '  ratio guestbox/gpg alone                  %6s\n' "$(ratio "$r_gb_sub" "$r_gpg")"
