#!/bin/sh
# Runs every test of the manifest natively on a Linux host, to show that the
# tests assert what Linux does.
#
#   test/apps/host-check.sh OUT_DIR [MANIFEST]
#
# OUT_DIR is the directory given to `make -C test/apps OUT=...`. Guest paths
# starting with /test/ are mapped to OUT_DIR/test/; other commands (such as
# /bin/busybox) are run as they are. MANIFEST defaults to
# OUT_DIR/test/manifest.txt. Exits 0 if every test passed.

set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUT_DIR [MANIFEST]" >&2
	exit 2
fi
out=$(cd "$1" && pwd) || exit 2
manifest=${2:-$out/test/manifest.txt}
if [ ! -r "$manifest" ]; then
	echo "$0: cannot read $manifest" >&2
	exit 2
fi

timeout_s=${HOST_CHECK_TIMEOUT:-30}
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
ulimit -c 0 2>/dev/null

trim() {
	printf '%s' "$1" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

passed=0
failed=0
set -f
while IFS= read -r line || [ -n "$line" ]; do
	case $(trim "$line") in
	'' | '#'*) continue ;;
	esac
	# name | status | command | expected output (optional)
	rest=$line
	name=$(trim "${rest%%|*}"); rest=${rest#*|}
	want=$(trim "${rest%%|*}"); rest=${rest#*|}
	case $rest in
	*'|'*) cmd=${rest%%|*}; expect=$(trim "${rest#*|}") ;;
	*) cmd=$rest; expect= ;;
	esac

	# Split the command on spaces like the runner; map guest paths.
	set -- $cmd
	prog=$1
	shift
	case $prog in
	/test/*) prog=$out$prog ;;
	esac

	# The outer subshell swallows the shell's "Segmentation fault" notice.
	( ( cd / && exec timeout "$timeout_s" "$prog" "$@" ) </dev/null >"$tmp" 2>&1; exit $? ) 2>/dev/null
	got=$?

	why=
	[ "$got" = "$want" ] || why="status $got, expected $want"
	if [ -n "$expect" ] && ! grep -qF -- "$expect" "$tmp"; then
		why="${why:+$why; }output lacks \"$expect\""
	fi
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "PASS $name (status $got)"
	else
		failed=$((failed + 1))
		echo "FAIL $name: $why"
		sed -e 's/^/    | /' "$tmp" | tail -n 20
	fi
done <"$manifest"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
