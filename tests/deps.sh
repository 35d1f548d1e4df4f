# Sourced by ./quickstart and ./run-tests: the Debian packages guestbox
# needs, and their installation (as root, only what is missing).

# Building.
GB_BUILD_PKGS="build-essential autoconf automake autoconf-archive pkg-config \
libssl-dev libgpgme-dev libdb5.3-dev libevent-dev libsodium-dev zlib1g-dev check \
libqrencode-dev \
gnupg mandoc openssl"

# Running the tests: the real peers guestbox is tested against.
GB_TEST_PKGS="python3 curl clang libclang-rt-14-dev dovecot-imapd \
dovecot-lmtpd postfix isync offlineimap3 neomutt fetchmail msmtp swaks \
chromium tmux cppcheck clang-tidy faketime nodejs npm bc strace \
libnet-ssleay-perl libio-socket-ssl-perl zbar-tools \
systemd"

gb_missing() {
	for p in "$@"; do
		# Node.js often comes from elsewhere than Debian (nodesource,
		# nvm): a working npm is all the browser tests need.
		case $p in
		nodejs|npm) command -v npm >/dev/null 2>&1 && continue ;;
		esac
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || printf '%s ' "$p"
	done
}

gb_install() {
	missing=$(gb_missing "$@")
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages: $missing" >&2
		echo "run as root, or: apt-get install $missing" >&2
		return 1
	fi
	echo "installing: $missing"
	# Postfix asks how to configure itself; the tests run their own.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $missing >/dev/null
}
