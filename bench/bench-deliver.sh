#!/bin/sh
# Durable deliveries of 10 KiB messages: guestbox-provision deliver (one
# process per message, like an MTA's pipe transport) against Dovecot's
# dovecot-lda into a Maildir with mail_fsync=always, on this machine in
# this run; then libstore directly (bench-store).
# Usage: bench/bench-deliver.sh [N]   (run from the build directory)
set -eu
n=${1:-300}
build=$(pwd)
tmp=$(mktemp -d /tmp/gb-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then user=nobody; else user=$(id -un); fi
run_as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		"$@"
	fi
}

# A 10 KiB message.
{
	printf 'From: a@home.test\r\nTo: alice@external.test\r\nSubject: bench\r\n\r\n'
	head -c 7700 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
} | head -c 10240 > "$tmp/msg"

# guestbox
mkdir -p "$tmp/gb/state" "$tmp/gnupg"
chmod 700 "$tmp/gnupg"
cat > "$tmp/gb/guestbox.conf" <<CONF
state_dir = $tmp/gb/state
user = $user
db_log_keep_for_backup = no
CONF
chown -R "$user" "$tmp/gb"
GNUPGHOME="$tmp/gnupg" gpg --batch --quiet --passphrase '' \
    --quick-gen-key 'Bench <sender@home.test>' default default never 2>/dev/null
GNUPGHOME="$tmp/gnupg" gpg --batch --armor --export sender@home.test > "$tmp/key.asc"
chmod 644 "$tmp/key.asc"
"$build/guestbox-provision" -c "$tmp/gb/guestbox.conf" create \
    --recipient alice@external.test --sender sender@home.test \
    --sender-key "$tmp/key.asc" --pin none > /dev/null
start=$(date +%s.%N)
i=0
while [ $i -lt "$n" ]; do
	"$build/guestbox-provision" -c "$tmp/gb/guestbox.conf" deliver \
	    --recipient alice@external.test < "$tmp/msg"
	i=$((i + 1))
done
end=$(date +%s.%N)
gb=$(echo "$n / ($end - $start)" | bc -l)

# Dovecot
mkdir -p "$tmp/dv/run" "$tmp/dv/state" "$tmp/dv/mail/u"
cat > "$tmp/dv/dovecot.conf" <<CONF
base_dir = $tmp/dv/run
state_dir = $tmp/dv/state
log_path = $tmp/dv/log
mail_location = maildir:$tmp/dv/mail/u
mail_fsync = always
ssl = no
CONF
chown -R "$user" "$tmp/dv"
start=$(date +%s.%N)
i=0
while [ $i -lt "$n" ]; do
	run_as env HOME="$tmp/dv/mail/u" USER=u /usr/lib/dovecot/dovecot-lda \
	    -c "$tmp/dv/dovecot.conf" -f a@home.test < "$tmp/msg"
	i=$((i + 1))
done
end=$(date +%s.%N)
dv=$(echo "$n / ($end - $start)" | bc -l)

printf 'LDA deliveries (%d x 10 KiB, durable, one process each):\n' "$n"
printf '  guestbox-provision deliver  %6.0f/s\n' "$gb"
printf '  dovecot-lda (Maildir)       %6.0f/s\n' "$dv"
printf '  ratio guestbox/dovecot      %6.2f\n' "$(echo "$gb / $dv" | bc -l)"
"$build/bench/bench-store" "$tmp/store" 2000 10240
