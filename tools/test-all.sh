#!/bin/sh
# Runs every test level and prints one overall `N passed, M failed` line:
#   1. lints and formatting (one check),
#   2. host unit tests (cargo test),
#   3. in-kernel unit tests (ktest, in QEMU),
#   4. the Linux test programs (test/apps, in QEMU): all in one boot under
#      the in-guest runner, those of manifest-oom.txt in a boot with 512 MiB,
#      then those of manifest-init.txt as PID 1,
#   5. the scripted console sessions,
#   6. a boot with a large initramfs,
#   7. 60 s of the syscall fuzzer (test/apps/fuzz, in QEMU, fixed seed).
# QEMU boots SMP CPUs (default 2, with multi-threaded TCG); the ktests also
# run on one CPU, and so do the PID 1 tests and the large initramfs, so
# that both kinds of machine are exercised.
# Exits non-zero if anything failed.
cd "$(dirname "$0")/.."

OSDK=osdk/target/release/osdk
LOG=build/test-logs
SMP=${SMP:-2}
mkdir -p "$LOG"
passed=0
failed=0

# Adds the counts of the last "N passed, M failed" line of a log.
count_summary() {
    line=$(sed 's/\x1b\[[0-9;]*m//g; s/\r//g' "$1" | grep -aE '^[[:space:]]*([A-Za-z]+:[[:space:]]*)?[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "test-all: no summary in $1"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(echo "$line" | sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/')
    passed=$((passed + p))
    failed=$((failed + f))
}

phase() {
    echo "==== $1"
}

phase "lints"
if make --no-print-directory check >"$LOG/check.log" 2>&1; then
    echo "check: ok"
    passed=$((passed + 1))
else
    cat "$LOG/check.log"
    echo "check: FAILED"
    failed=$((failed + 1))
fi

phase "host unit tests"
if sh tools/host-tests.sh >"$LOG/host.log" 2>&1; then :; else
    cat "$LOG/host.log"
    failed=$((failed + 1))
fi
grep -E '^test result:' "$LOG/host.log"
hp=$(grep -E '^test result:' "$LOG/host.log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
hf=$(grep -E '^test result:' "$LOG/host.log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
passed=$((passed + ${hp:-0}))
failed=$((failed + ${hf:-0}))

# The ktests on several CPUs keep the fair (ticket) spin locks with
# `nopvspin`; everything else runs with the test-and-set locks the kernel
# picks under a hypervisor, so both kinds meet contention.
for cpus in 1 "$SMP"; do
    phase "ktests ($cpus CPU)"
    opts="log_level=warn"
    [ "$cpus" = 1 ] || opts="$opts nopvspin"
    $OSDK run --ktest --summary --smp "$cpus" --timeout 300 --cmdline "$opts" \
        >"$LOG/ktest-$cpus.log" 2>&1
    grep -E 'FAILED|KERNEL PANIC' "$LOG/ktest-$cpus.log"
    count_summary "$LOG/ktest-$cpus.log"
    tail -n 1 "$LOG/ktest-$cpus.log"
    [ "$SMP" = 1 ] && break
done

phase "test apps (one boot, in-guest runner, $SMP CPUs)"
$OSDK build >"$LOG/build.log" 2>&1 || { cat "$LOG/build.log"; failed=$((failed + 1)); }
$OSDK run --no-build --kernel target/osdk/kernel --initramfs build/rootfs --summary --timeout 1500 \
    --smp "$SMP" \
    --cmdline "log_level=warn init=/test/runner" >"$LOG/apps.log" 2>&1
grep -aE '^(PASS|FAIL)|^    \|' "$LOG/apps.log"
grep -aE 'KERNEL PANIC|osdk: (timeout|guest)' "$LOG/apps.log"
count_summary "$LOG/apps.log"

phase "test apps that exhaust memory (one boot, 512 MiB, $SMP CPUs)"
$OSDK run --no-build --kernel target/osdk/kernel --initramfs build/rootfs --summary --timeout 600 \
    --smp "$SMP" --mem 512M --cmdline "log_level=warn init=/test/runner -- -m /test/manifest-oom.txt" \
    >"$LOG/apps-oom.log" 2>&1
grep -aE '^(PASS|FAIL)|^    \|' "$LOG/apps-oom.log"
grep -aE 'KERNEL PANIC|osdk: (timeout|guest)' "$LOG/apps-oom.log"
count_summary "$LOG/apps-oom.log"

phase "test apps as PID 1 (one boot each, 1 CPU)"
$OSDK test-apps --no-build --kernel target/osdk/kernel --initramfs build/rootfs \
    --manifest test/apps/manifest-init.txt --timeout 120 --cmdline "log_level=warn" \
    >"$LOG/apps-init.log" 2>&1
grep -aE '^(PASS|FAIL)' "$LOG/apps-init.log"
count_summary "$LOG/apps-init.log"

for script in test/session/*.session; do
    [ -f "$script" ] || continue
    phase "scripted console session: $script"
    if $OSDK session --no-build --kernel target/osdk/kernel --initramfs build/rootfs \
        --smp "$SMP" --script "$script" --timeout 600 --cmdline "log_level=warn" >"$LOG/session.log" 2>&1; then :; fi
    tail -n 3 "$LOG/session.log"
    count_summary "$LOG/session.log"
done

# An initramfs larger than any block of contiguous memory: unpacked as a
# stream, its 200 MiB file arrives intact (big_file checks every byte).
phase "a large initramfs (a 200 MiB file, as PID 1, 1 CPU)"
mkdir -p build/big-initramfs/big
[ -f build/big-initramfs/big/pattern ] ||
    build/rootfs/test/basic/big_file -w build/big-initramfs/big/pattern 200
$OSDK run --no-build --kernel target/osdk/kernel --initramfs build/rootfs \
    --initramfs build/big-initramfs --summary --timeout 300 \
    --cmdline "log_level=warn init=/test/basic/big_file -- /big/pattern 200" \
    >"$LOG/big-initramfs.log" 2>&1
grep -aE '^FAIL|KERNEL PANIC|osdk: (timeout|guest)|initramfs' "$LOG/big-initramfs.log"
count_summary "$LOG/big-initramfs.log"

# The fuzzer as PID 1: one pass if it ends with `1 passed, 0 failed`; an
# unkillable worker, a kernel panic, a timeout or a missing summary is one
# failure. FUZZ_KNOWN_BUGS (syscall numbers, comma-separated) skips the
# syscalls of bugs that have a reproducer under test/apps/hostile/ and are
# not fixed yet; empty when there are none.
FUZZ_KNOWN_BUGS=${FUZZ_KNOWN_BUGS-}
phase "syscall fuzzer (60 s, seed 1, $SMP CPUs${FUZZ_KNOWN_BUGS:+, skipping $FUZZ_KNOWN_BUGS})"
if $OSDK run --no-build --kernel target/osdk/kernel --initramfs build/rootfs --summary --timeout 180 \
    --smp "$SMP" \
    --cmdline "log_level=warn init=/test/fuzz/fuzz -- -s 1 -d 60 -w 8 ${FUZZ_KNOWN_BUGS:+-x $FUZZ_KNOWN_BUGS}" \
    >"$LOG/fuzz.log" 2>&1; then
    count_summary "$LOG/fuzz.log"
else
    failed=$((failed + 1))
fi
grep -aE '^fuzz: (summary|UNKILLABLE|TOP)|KERNEL PANIC|osdk: (timeout|the guest|no `|summary)' "$LOG/fuzz.log" | sed 's/\r$//'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
