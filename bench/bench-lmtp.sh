#!/bin/bash
# bench/bench-lmtp.sh: guestbox-submitd against Dovecot and Postfix on
# this machine, in this run, with the same client: smtp-source from the
# postfix package.
#
#   1. LMTP delivery of 10 KiB messages, durable (guestbox commits each
#      to Berkeley DB before its 250; Dovecot's LMTP writes Maildir with
#      mail_fsync = always), guestbox-submitd against dovecot-lmtpd.
#   2. Submission accept rate: guestbox-submitd over implicit TLS with
#      AUTH (each message checked, encrypted with GnuPG, filed to
#      Gesendet and queued, in one commit) against Postfix's smtpd
#      accepting into its queue (fsync before 250; mail put on hold so
#      that no delivery runs meanwhile) plain, and over implicit TLS
#      through the same proxy.  smtp-source speaks neither TLS nor AUTH:
#      bench/smtp-auth-proxy.py does that part for it.
#
# Prints messages per second and the ratios.  Postfix and Dovecot's
# master must start as root.
# Usage: bench/bench-lmtp.sh      (from the build directory; make bench)
# Environment: BENCH_LMTP (messages, default 2000), BENCH_SUBMIT (300),
#   BENCH_POSTFIX (2000), BENCH_SESSIONS (parallel sessions, 4),
#   BENCH_KEEP=1 keeps the directory.
set -eu

build=$(pwd)
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$build
n_lmtp=${BENCH_LMTP:-2000}
n_sub=${BENCH_SUBMIT:-300}
n_pf=${BENCH_POSTFIX:-2000}
sess=${BENCH_SESSIONS:-4}
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

# smtp-source N ARGS...: runs it and prints the seconds it took.
source_run()
{
	local n=$1 t0 t1
	shift
	t0=$(now)
	smtp-source -s "$sess" -m "$n" -l 10240 -M client.test "$@" \
	    >"$tmp/source.log" 2>&1 || { cat "$tmp/source.log" >&2;
	    fail "smtp-source $*"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

echo "== bench-lmtp: $(nproc) CPUs; $sess sessions; 10 KiB messages"

# ----------------------------------------------------------------
# guestbox: no smarthost (the replies stay queued, as for Postfix's hold)
gb_conf "db_log_keep_for_backup = no"
sed -i '/^smarthost/d' "$C"
PW='correct horse battery staple'
gb_mailbox bench@external.test "$PW"
gb_mailbox inbox@external.test ""
gb_start_submitd

section "LMTP: guestbox-submitd"
smtp-source -L -s 1 -m 20 -l 10240 -f sender@home.test \
    -t inbox@external.test "127.0.0.1:$P_LMTP" >/dev/null 2>&1
t_gb_lmtp=$(source_run "$n_lmtp" -L -d -f sender@home.test \
    -t inbox@external.test "127.0.0.1:$P_LMTP")
run 0 gp --json show inbox@external.test
got=$(jget "$out" '[m["messages"] for m in d["mailboxes"] if m["name"] == "INBOX"][0]')
same "messages delivered by LMTP" "$got" $((n_lmtp + 20))

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
gb_stop submitd

# ----------------------------------------------------------------
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
t_dv_lmtp=$(source_run "$n_lmtp" -L -d -f sender@home.test -t inbox \
    "127.0.0.1:$P_DOVECOT")
got=$(ls "$dv/mail/inbox/new" | wc -l)
same "messages Dovecot delivered" "$got" $((n_lmtp + 20))
kill -TERM "$(cat "$tmp/dovecot.pid")"
gb_wait_gone "$(cat "$tmp/dovecot.pid")" 20 || true

# ----------------------------------------------------------------
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

# ----------------------------------------------------------------
r_gb_lmtp=$(rate "$n_lmtp" "$t_gb_lmtp")
r_dv_lmtp=$(rate "$n_lmtp" "$t_dv_lmtp")
r_gb_sub=$(rate "$n_sub" "$t_gb_sub")
r_pf=$(rate "$n_pf" "$t_pf")
r_pftls=$(rate "$n_pf" "$t_pftls")
echo
echo "== summary (same machine, same run, smtp-source -s $sess -d, 10 KiB)"
printf 'LMTP delivery, durable (%d messages):\n' "$n_lmtp"
printf '  guestbox-submitd          %6s msg/s\n' "$r_gb_lmtp"
printf '  dovecot-lmtpd (Maildir)   %6s msg/s\n' "$r_dv_lmtp"
printf '  ratio guestbox/dovecot    %6s\n' "$(ratio "$r_gb_lmtp" "$r_dv_lmtp")"
printf 'Submission accept rate:\n'
printf '  guestbox-submitd, TLS+AUTH+PGP/MIME (%d)   %6s msg/s\n' "$n_sub" "$r_gb_sub"
printf '  Postfix smtpd, plain (%d)                  %6s msg/s\n' "$n_pf" "$r_pf"
printf '  Postfix smtpd, TLS via the proxy (%d)      %6s msg/s\n' "$n_pf" "$r_pftls"
printf '  ratio guestbox/postfix plain              %6s\n' "$(ratio "$r_gb_sub" "$r_pf")"
printf '  ratio guestbox/postfix TLS                %6s\n' "$(ratio "$r_gb_sub" "$r_pftls")"
