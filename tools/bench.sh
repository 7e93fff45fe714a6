#!/bin/bash
# Benchmarks: boots this kernel and Debian's Linux kernel in the same QEMU
# configuration with the same initramfs of benchmark programs, and prints
# each figure side by side:
#   * once with `-icount shift=0` (the guest clock counts instructions:
#     deterministic, the figure we compare on), and
#   * once in wall-clock time (best of BENCH_RUNS boots).
# Usage: tools/bench.sh  (make bench builds the programs first)
set -e
cd "$(dirname "$0")/.."

OSDK=osdk/target/release/osdk
ROOT=build/bench-root
LINUX_DIR=build/linux
LOGS=build/bench-logs
CPU=${BENCH_CPU:-qemu64}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$LOGS"

# Debian's kernel, unpacked locally (not installed on the host).
linux=$(ls "$LINUX_DIR"/boot/vmlinuz-* 2>/dev/null | head -n 1)
if [ -z "$linux" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
    [ -n "$pkg" ] || { echo "bench: cannot find Debian's linux-image package (run apt-get update)"; exit 1; }
    echo "bench: downloading $pkg"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1)
    mkdir -p "$LINUX_DIR"
    dpkg-deb -x "$tmp"/*.deb "$LINUX_DIR"
    rm -rf "$tmp"
    linux=$(ls "$LINUX_DIR"/boot/vmlinuz-* | head -n 1)
fi

$OSDK build >/dev/null

# run KERNEL_NAME ICOUNT(yes|no) RUN
run() {
    log="$LOGS/$1-$2-$3.log"
    icount=""
    [ "$2" = yes ] && icount="--icount"
    if [ "$1" = framekernel ]; then
        $OSDK run --no-build --kernel target/osdk/kernel --initramfs "$ROOT" --cpu "$CPU" $icount \
            --timeout 900 --cmdline "log_level=error init=/bench/run_all" >"$log" 2>&1 || true
    else
        $OSDK run --kernel "$linux" --initramfs "$ROOT" --cpu "$CPU" $icount --timeout 900 \
            --cmdline "console=ttyS0 quiet panic=-1 rdinit=/bench/run_all" >"$log" 2>&1 || true
    fi
    grep -a '^BENCH ' "$log" | sed 's/\r//' >"$LOGS/$1-$2-$3.txt" || true
    if ! grep -q 'BENCH done' "$LOGS/$1-$2-$3.txt"; then
        echo "bench: $1 (icount=$2) did not finish; see $log" >&2
    fi
}

# best FILE...: for each figure, the smallest value across the files.
best() {
    cat "$@" | awk '$1 == "BENCH" && $2 != "done" {
        if (!($2 in v) || $3 < v[$2]) { v[$2] = $3; u[$2] = $4 }
        if (!($2 in order)) { order[$2] = n++; name[n-1] = $2 }
    } END { for (i = 0; i < n; i++) print name[i], v[name[i]], u[name[i]] }'
}

table() {
    # table TITLE OURS LINUX
    echo
    echo "$1"
    printf '%-28s %16s %16s %8s\n' figure framekernel linux ratio
    join -j 1 <(sort "$2") <(sort "$3") 2>/dev/null | while read -r name a unit b _; do
        ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '%-28s %12s %-3s %12s %-3s %8s\n' "$name" "$a" "$unit" "$b" "$unit" "$ratio"
    done
}

echo "bench: cpu model $CPU; Linux kernel $(basename "$linux")"
for k in framekernel linux; do
    run "$k" yes 1
    best "$LOGS/$k-yes-1.txt" >"$LOGS/$k-icount.best"
    i=1
    while [ "$i" -le "$RUNS" ]; do
        run "$k" no "$i"
        i=$((i + 1))
    done
    best "$LOGS/$k"-no-*.txt >"$LOGS/$k-wall.best"
done

table "Guest instructions (-icount shift=0; 1 unit = 1 instruction; lower is better):" \
    "$LOGS/framekernel-icount.best" "$LOGS/linux-icount.best"
table "Wall-clock time under TCG (best of $RUNS boots; noisy):" \
    "$LOGS/framekernel-wall.best" "$LOGS/linux-wall.best"
