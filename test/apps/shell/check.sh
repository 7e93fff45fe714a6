#!/bin/sh
# Runs one shell test and compares what it prints with what it should.
#
#   sh check.sh NAME
#
# runs DIR/NAME.sh (DIR: the directory of this file), stdout and stderr
# together, with a fresh scratch directory as $TMPDIR, and compares the
# output with DIR/NAME.expected. Prints "NAME: checks ok" and exits 0 when
# they are the same; otherwise shows both (as a diff when `diff` exists) and
# exits 1.
#
# The expected output is busybox sh's (as in the guest), so the script runs
# with `/bin/busybox sh` when there is one, whatever shell runs this file
# (on a Linux host /bin/sh may be dash), else with `sh`. SHELL_UNDER_TEST
# overrides the choice (a command, split on spaces).

name=$1
if [ $# -ne 1 ] || [ -z "$name" ]; then
	echo "usage: $0 NAME" >&2
	exit 2
fi
dir=$(dirname "$0")
script=$dir/$name.sh
expected=$dir/$name.expected
for f in "$script" "$expected"; do
	if [ ! -r "$f" ]; then
		echo "check: cannot read $f" >&2
		exit 2
	fi
done

# Booted with this script as the first program (init=/bin/sh -- check.sh
# NAME), nothing is mounted yet, and the tests need /dev/null and /dev/zero.
if [ "$$" = 1 ] && [ ! -c /dev/null ]; then
	mount -t devtmpfs devtmpfs /dev
fi

base=${TMPDIR:-/tmp}
scratch=$base/shell-$name.$$
out=$base/shell-$name.$$.out
rm -rf "$scratch"
if ! mkdir "$scratch"; then
	echo "check: cannot create $scratch" >&2
	exit 2
fi

if [ -n "${SHELL_UNDER_TEST:-}" ]; then
	shell=$SHELL_UNDER_TEST
elif [ -x /bin/busybox ]; then
	shell="/bin/busybox sh"
else
	shell=sh
fi

TMPDIR=$scratch $shell "$script" >"$out" 2>&1
status=$?

if cmp -s "$expected" "$out"; then
	rm -rf "$scratch" "$out"
	echo "$name: checks ok"
	exit 0
fi

echo "$name: output differs from $expected (the script exited with $status)"
if command -v diff >/dev/null 2>&1; then
	diff -u "$expected" "$out"
else
	echo "--- expected"
	cat "$expected"
	echo "--- got"
	cat "$out"
fi
rm -rf "$scratch" "$out"
exit 1
