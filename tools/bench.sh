#!/bin/bash
# Benchmarks: boots this kernel and Debian's Linux kernel in the same QEMU
# configuration with the same initramfs of benchmark programs, and prints
# each figure side by side:
#   * once with `-icount shift=0` (the guest clock counts instructions:
#     deterministic, the figure we compare on), and
#   * once in wall-clock time (best of BENCH_RUNS boots);
# both with one CPU. Then the scaling figures: bench/scale in a boot with
# BENCH_SMP CPUs (default 2) of each kernel, wall-clock time, with the
# speed-up of N workers over 1 (N x t(1) / t(N); N = BENCH_SMP is ideal).
#
# Usage: tools/bench.sh [all|single|scale]   (make bench builds the programs
# first and runs all; `single` is the one-CPU part, `scale` the scaling
# part). BENCH_KERNELS limits the kernels booted (default
# "framekernel linux").
set -e
cd "$(dirname "$0")/.."

MODE=${1:-all}
case "$MODE" in
all | single | scale) ;;
*)
    echo "usage: $0 [all|single|scale]" >&2
    exit 2
    ;;
esac

OSDK=osdk/target/release/osdk
ROOT=build/bench-root
LINUX_DIR=build/linux
LOGS=build/bench-logs
CPU=${BENCH_CPU:-qemu64}
RUNS=${BENCH_RUNS:-3}
SMP=${BENCH_SMP:-2}
KERNELS=${BENCH_KERNELS:-framekernel linux}
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

case " $KERNELS " in
*" framekernel "*) $OSDK build >/dev/null ;;
esac

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

# run_scale KERNEL_NAME: one boot with $SMP CPUs running bench/scale with 1
# and $SMP workers (whatever CPU count the kernel reports).
run_scale() {
    log="$LOGS/$1-scale.log"
    if [ "$1" = framekernel ]; then
        $OSDK run --no-build --kernel target/osdk/kernel --initramfs "$ROOT" --cpu "$CPU" --smp "$SMP" \
            --timeout 900 --cmdline "log_level=error init=/bench/scale -- 1 $SMP" >"$log" 2>&1 || true
    else
        $OSDK run --kernel "$linux" --initramfs "$ROOT" --cpu "$CPU" --smp "$SMP" --timeout 900 \
            --cmdline "console=ttyS0 quiet panic=-1 rdinit=/bench/scale -- 1 $SMP" >"$log" 2>&1 || true
    fi
    grep -a '^BENCH ' "$log" | sed 's/\r//' >"$LOGS/$1-scale.txt" || true
    if ! grep -q 'BENCH done' "$LOGS/$1-scale.txt"; then
        echo "bench: $1 (scale, $SMP CPUs) did not finish; see $log" >&2
    fi
}

# scale_table OURS LINUX: one row per kind and worker count, with each
# kernel's time and its speed-up over one worker (a kernel not booted:
# /dev/null).
scale_table() {
    echo
    echo "Scaling with $SMP CPUs (wall-clock time under TCG, best of 3 runs; N workers each do"
    echo "the one-worker amount; speed-up = N x t(1) / t(N), ideal N; noisy):"
    { sed 's/^/1 /' "$1"; sed 's/^/2 /' "$2"; } | awk '
        $2 == "BENCH" && $3 ~ /^scale_/ {
            split($3, part, "_"); kind = part[2]; n = part[3] + 0
            if (!(kind in seen)) { seen[kind] = 1; kinds[nk++] = kind }
            if (!((kind, n) in has)) { has[kind, n] = 1; ns[kind] = ns[kind] " " n }
            t[$1, kind, n] = $4
        }
        function speedup(f, kind, n) {
            if (!((f, kind, n) in t) || !((f, kind, 1) in t) || t[f, kind, n] <= 0) return "-"
            return sprintf("%.2f", n * t[f, kind, 1] / t[f, kind, n])
        }
        function ms(f, kind, n) { return ((f, kind, n) in t) ? t[f, kind, n] : "-" }
        END {
            printf "%-6s %4s %16s %12s %18s %14s\n", "kind", "N", "framekernel ms", "linux ms", "fk speed-up", "linux speed-up"
            for (i = 0; i < nk; i++) {
                kind = kinds[i]
                c = split(ns[kind], list, " ")
                for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++)
                    if (list[b] + 0 < list[a] + 0) { x = list[a]; list[a] = list[b]; list[b] = x }
                for (j = 1; j <= c; j++) {
                    n = list[j] + 0
                    printf "%-6s %4d %16s %12s %18s %14s\n", kind, n, ms(1, kind, n), ms(2, kind, n), speedup(1, kind, n), speedup(2, kind, n)
                }
            }
        }'
}

echo "bench: cpu model $CPU; Linux kernel $(basename "$linux")"
if [ "$MODE" != scale ]; then
    for k in $KERNELS; do
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
fi

if [ "$MODE" != single ]; then
    files=""
    for k in framekernel linux; do
        f=/dev/null
        case " $KERNELS " in
        *" $k "*)
            run_scale "$k"
            f="$LOGS/$k-scale.txt"
            ;;
        esac
        files="$files $f"
    done
    # shellcheck disable=SC2086 # two file names without blanks
    scale_table $files
fi
