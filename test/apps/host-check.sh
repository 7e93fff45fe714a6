#!/bin/sh
# Runs every test of the manifest natively on a Linux host, to show that the
# tests assert what Linux does. It uses the same runner as the guest:
#
#   test/apps/host-check.sh OUT_DIR [MANIFEST [NAME...]]
#
# OUT_DIR is the directory given to `make -C test/apps OUT=...`; the runner
# is OUT_DIR/test/runner, run as `runner -m MANIFEST -r OUT_DIR`, so that
# guest paths starting with /test/ map to OUT_DIR/test/ (other commands,
# such as /bin/busybox, are run as they are). MANIFEST defaults to
# OUT_DIR/test/manifest.txt; NAMEs select tests. HOST_CHECK_TIMEOUT is the
# per-test timeout in seconds (default 30). Exits 0 if every test passed.

set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 OUT_DIR [MANIFEST [NAME...]]" >&2
	exit 2
fi
out=$(cd "$1" && pwd) || exit 2
shift
manifest=$out/test/manifest.txt
if [ $# -ge 1 ]; then
	manifest=$1
	shift
fi
if [ ! -r "$manifest" ]; then
	echo "$0: cannot read $manifest" >&2
	exit 2
fi
runner=$out/test/runner
if [ ! -x "$runner" ]; then
	echo "$0: $runner is missing: build with make -C test/apps OUT=$out" >&2
	exit 2
fi

ulimit -c 0 2>/dev/null
exec "$runner" -m "$manifest" -r "$out" -t "${HOST_CHECK_TIMEOUT:-30}" "$@"
