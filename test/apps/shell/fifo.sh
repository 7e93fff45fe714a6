# Named pipes (mkfifo): opening one end blocks until the other end is
# opened. Each case has a FIFO of its own and runs under a watchdog, so that
# a hang shows up as a difference in the output rather than as a timeout of
# the whole test.

# Runs the shell code $1 in a process group of its own and kills the whole
# group if it has not finished after 5 s (with a broken FIFO open, the
# readers and writers of the case may all hang).
guarded() {
	setsid sh -c "$1" &
	pid=$!
	(sleep 5; kill -KILL -"$pid" 2>/dev/null) &
	wait "$pid"
	echo "case status $?"
}

for n in 1 2 3 4; do mkfifo "$TMPDIR/fifo$n"; done
[ -p "$TMPDIR/fifo1" ] && echo "is a FIFO"
echo "reader opens first:"
guarded '
	f=$TMPDIR/fifo1
	{ read line < "$f"; echo "reader got: $line"; } &
	sleep 0.2
	echo "through the FIFO" > "$f"
	wait $!; echo "reader $?"
'
echo "writer opens first:"
guarded '
	f=$TMPDIR/fifo2
	{ echo "written first" > "$f"; } &
	sleep 0.2
	cat "$f"
	wait $!; echo "writer $?"
'
echo "more than a pipe buffer:"
guarded '
	f=$TMPDIR/fifo3
	seq 1 20000 > "$f" &
	wc -l < "$f"
	wait $!; echo "writer $?"
'
echo "read-write open does not block:"
guarded '
	exec 3<> "$TMPDIR/fifo4"
	echo "read-write" >&3
	read l <&3; echo "$l"
'
