# /proc, /sys and /dev as busybox uses them: descriptor links, process
# substitution, /dev/stderr, big reads of /dev/zero, dmesg, top, nproc.
# The output goes through a pipe: reopening a regular file through
# /proc/self/fd/1 or /dev/stderr would truncate it.
run() {
	(echo hi >/proc/self/fd/1) | cat
	cat <(echo x)
	echo to-stderr >/dev/stderr
	echo via-dev-fd >/dev/fd/1
	read line </dev/stdin <<EOT
from-stdin
EOT
	echo "$line"
	dd if=/dev/zero bs=1M count=100 of=/dev/null 2>&1 | head -n 2
	head -c 3000000 /dev/urandom | wc -c
	echo "dmesg lines: $(dmesg | head -n 3 | wc -l)"
	top -b -n1 >"$TMPDIR/top" 2>&1; echo "top status $?"
	grep -c '^CPU:' "$TMPDIR/top"
	grep -c '^Load average:' "$TMPDIR/top"
	n=$(nproc)
	[ "$n" = "$(grep -c '^processor' /proc/cpuinfo)" ] && echo "nproc matches cpuinfo"
	if [ "$n" = 1 ]; then want=0; else want="0-$((n - 1))"; fi
	[ "$(cat /sys/devices/system/cpu/online)" = "$want" ] && echo "cpu online ok"
	[ "$(cat /sys/devices/system/cpu/possible)" = "$want" ] && echo "cpu possible ok"
	[ -d /sys/devices/system/cpu/cpu0 ] && echo "cpu0 is a directory"
	[ -d /sys/kernel/mm ] && echo "/sys/kernel/mm is a directory"
	ls -l /proc/self/fd/0 | grep -c -- '->'
}
run 2>&1 | cat
