#!/bin/sh
# layering.sh: every #include "..." in the source folders names a header
# of the file's own folder or of a lower floor (README, guestbox(7)):
#
#   common/ -> mail/ -> store/ -> daemon/ -> imapd/ submitd/ provision/
#
# The three daemons' folders are one floor: none includes another's
# headers.  tests/ and bench/ may use any floor.  Run by make check; it
# first makes sure that it catches a violation in a tree of its own.
set -eu

FLOORS="common mail store daemon imapd submitd provision"

floor_rank() {
	case $1 in
	common) echo 0 ;;
	mail) echo 1 ;;
	store) echo 2 ;;
	daemon) echo 3 ;;
	imapd | submitd | provision) echo 4 ;;
	*) echo -1 ;;
	esac
}

# check ROOT: prints one line per violation, returns 1 if there was any.
check() {
	root=$1
	bad=0
	for dir in $FLOORS; do
		[ -d "$root/$dir" ] || continue
		rank=$(floor_rank "$dir")
		for src in "$root/$dir"/*.c "$root/$dir"/*.h; do
			[ -f "$src" ] || continue
			# "file:line:name" for each quoted include
			out=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$src" |
			    sed 's/^\([0-9]*\):.*"\(.*\)".*/\1 \2/') || true
			[ -n "$out" ] || continue
			while read -r line hdr; do
				[ -f "$root/$dir/$hdr" ] && continue
				owner=
				for d in $FLOORS; do
					if [ -f "$root/$d/$hdr" ]; then
						owner=$d
						break
					fi
				done
				# config.h and generated files are nobody's floor.
				[ -n "$owner" ] || continue
				orank=$(floor_rank "$owner")
				if [ "$orank" -ge "$rank" ]; then
					echo "${src#"$root"/}:$line: includes $owner/$hdr," \
					    "which is not below $dir/"
					bad=1
				fi
			done <<EOF
$out
EOF
		done
	done
	return $bad
}

# The check must be able to fail: a store file that includes a daemon
# header, and a daemon that includes another daemon's.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/store" "$tmp/daemon" "$tmp/imapd" "$tmp/submitd" "$tmp/common"
echo '#include "log.h"' >"$tmp/store/ok.c"
echo '#include "auth.h"' >"$tmp/store/up.c"
echo '#include "imapd.h"' >"$tmp/submitd/side.c"
: >"$tmp/common/log.h"
: >"$tmp/daemon/auth.h"
: >"$tmp/imapd/imapd.h"
if found=$(check "$tmp"); then
	echo "layering.sh: the self-test's violations were not found" >&2
	exit 1
fi
case $found in
*store/up.c:1:*submitd/side.c:1:* | *submitd/side.c:1:*store/up.c:1:*) ;;
*)
	echo "layering.sh: self-test found the wrong lines: $found" >&2
	exit 1
	;;
esac
case $found in
*ok.c*)
	echo "layering.sh: self-test flagged an include from below" >&2
	exit 1
	;;
esac

root=${srcdir:-$(dirname "$0")/..}
if ! check "$root"; then
	echo "layering.sh: includes that reach up or sideways (see above)" >&2
	exit 1
fi
echo "layering: every include is on its floor or below"
