#!/bin/bash
# bench/bench-gateway.sh: marked messages per second through the gateway
# of guestbox-submitd, as Postfix's after-queue content filter, against
# Postfix alone passing the same messages, in one run on this machine.
#
# One Postfix: its plain smtpd relays straight to Postfix's smtp-sink
# (the outside world); a second smtpd has content_filter to the gateway,
# which re-injects into a third smtpd without the filter.  smtp-source
# sends 10 KiB messages whose Subject carries the [secure] tag:
#
#   1. Postfix alone: accepted, queued, relayed to the sink;
#   2. through the gateway, to a recipient with a key: each one
#      encrypted with GnuPG (PGP/MIME, to it and the sender), re-injected
#      and relayed;
#   3. through the gateway, to one recipient without a key: each one
#      delivered into its temporary mailbox (made and invited once).
#
# Each rate counts from the first message sent to the last one done
# (relayed to the sink, or answered 250 by the gateway), from Postfix's
# log.  Postfix's master must start as root.
# Usage: bench/bench-gateway.sh    (from the build directory; make bench-gateway)
# Environment: BENCH_GW_POSTFIX (messages, default 400), BENCH_GW (200),
#   BENCH_SESSIONS (parallel sessions, 4), BENCH_KEEP=1 keeps the directory.
set -eu

build=$(pwd)
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$build
n_pf=${BENCH_GW_POSTFIX:-400}
n_gw=${BENCH_GW:-200}
sess=${BENCH_SESSIONS:-4}
[ -z "${BENCH_KEEP:-}" ] || KEEP_TMP=always

. "$srcdir/tests/lib/harness.sh"
. "$srcdir/tests/lib/postfix.sh"

need smtp-source smtp-sink python3 gpg openssl
pf_need
gb_setup
export tmp
set -- $(gb_ports 4)
P_GW=$1 P_REINJECT=$2 P_SINK=$3 P_FILTERED=$4

rate() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }

gb_gpg_key keyed keyed@far.test Keyed
gb_conf "gateway_listen = 127.0.0.1:$P_GW plain" \
    "gateway_reinject = 127.0.0.1:$P_REINJECT" \
    "gateway_domains = home.test" \
    "gateway_keyring = $tmp/sender.asc" \
    "db_log_keep_for_backup = no"
sed -i '/^smarthost/d' "$C"
run 0 gp add-key "$tmp/keyed.asc"

# As root it needs a user to run as.
gb_start sink smtp-sink -u "$gb_user" -c 127.0.0.1:"$P_SINK" 256
PF_MASTER_EXTRA="127.0.0.1:$P_FILTERED inet n - n - - smtpd
  -o content_filter=gbfilter:[127.0.0.1]:$P_GW
gbfilter unix - - n - $sess smtp
  -o smtp_data_done_timeout=1200
127.0.0.1:$P_REINJECT inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_relay_restrictions=permit_mynetworks,reject" \
    pf_setup "$tmp/postfix" "$P_SMARTHOST" \
    "relayhost = [127.0.0.1]:$P_SINK" \
    "smtp_tls_security_level = none" \
    "default_destination_concurrency_limit = $sess"
pf_start
gb_start_submitd
LOG=$tmp/postfix/maillog
# Relayed to the sink / answered 250 by the gateway, so far.
n_relayed() { grep -c "relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$P_SINK, .*status=sent" "$LOG" || true; }
n_filtered() { grep -c "relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$P_GW, .*status=sent" "$LOG" || true; }
at_least() { [ "$("$1")" -ge "$2" ]; }

# bench_run PORT RCPT N COUNTER: the seconds until COUNTER reached its
# start + N.
bench_run()
{
	local port=$1 rcpt=$2 n=$3 counter=$4 base t0 t1
	base=$("$counter")
	t0=$(now)
	smtp-source -s "$sess" -m "$n" -l 10240 -M client.test \
	    -S "[secure] bench" -f sender@home.test -t "$rcpt" \
	    "127.0.0.1:$port" >"$tmp/source.log" 2>&1 ||
	    { cat "$tmp/source.log" >&2; fail "smtp-source"; }
	gb_wait 600 at_least "$counter" $((base + n)) ||
	    { tail -20 "$LOG" >&2; fail "only $(($("$counter") - base)) of $n done"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

echo "== bench-gateway: $(nproc) CPUs; $sess sessions; 10 KiB marked messages"
# Warm-up: the keyless mailbox is made and invited here, once.
bench_run "$P_FILTERED" keyless@far.test 5 n_filtered >/dev/null
bench_run "$P_FILTERED" keyed@far.test 5 n_filtered >/dev/null

section "Postfix alone"
t_pf=$(bench_run "$P_SMARTHOST" keyed@far.test "$n_pf" n_relayed)
section "through the gateway, keyed recipient"
t_key=$(bench_run "$P_FILTERED" keyed@far.test "$n_gw" n_filtered)
section "through the gateway, keyless recipient"
t_nokey=$(bench_run "$P_FILTERED" keyless@far.test "$n_gw" n_filtered)
run 0 gp --json show keyless@far.test
got=$(jget "$out" '[m["messages"] for m in d["mailboxes"] if m["name"] == "INBOX"][0]')
same "messages in the keyless mailbox" "$got" $((n_gw + 5))
gb_stop submitd
pf_stop

r_pf=$(rate "$n_pf" "$t_pf")
r_key=$(rate "$n_gw" "$t_key")
r_nokey=$(rate "$n_gw" "$t_nokey")
echo
echo "== summary (same machine, same run, smtp-source -s $sess, 10 KiB)"
printf '  Postfix alone, relayed (%d)                 %7s msg/s\n' "$n_pf" "$r_pf"
printf '  gateway, keyed: PGP/MIME, re-injected (%d)   %7s msg/s\n' "$n_gw" "$r_key"
printf '  gateway, keyless: into the mailbox (%d)      %7s msg/s\n' "$n_gw" "$r_nokey"
printf '  ratio keyed/Postfix                         %7s\n' "$(ratio "$r_key" "$r_pf")"
printf '  ratio keyless/Postfix                       %7s\n' "$(ratio "$r_nokey" "$r_pf")"
