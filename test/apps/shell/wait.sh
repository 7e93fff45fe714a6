# Background jobs: $!, wait for one job, for all, statuses of killed jobs.
(exit 3) &
p1=$!
(exit 4) &
p2=$!
[ "$p1" != "$p2" ] && echo "distinct pids"
wait $p2; echo "second $?"
wait $p1; echo "first $?"
for i in 1 2 3; do (echo "job $i" > "$TMPDIR/job$i") & done
wait; echo "wait all $?"
cat "$TMPDIR/job1" "$TMPDIR/job2" "$TMPDIR/job3"
# The signal arrives while `wait` blocks, so ash reports it ("Terminated");
# a job already dead when `wait` starts would be reaped silently, on Linux
# too, and which comes first would be a race.
sleep 100 &
p=$!
(sleep 0.2; kill $p) & wait $p; echo "terminated $?"
sleep 100 &
p=$!
(sleep 0.2; kill -KILL $p) & wait $p; echo "killed $?"
wait
sh -c 'exit 9' & wait $!; echo "child $?"
(echo "from the background") > "$TMPDIR/bg" & wait $!
cat "$TMPDIR/bg"
# $! of a pipeline is its last process.
echo piped | cat > "$TMPDIR/pipe" & wait $!; echo "pipeline $?"
cat "$TMPDIR/pipe"
# Jobs finish in any order; wait takes them in the order asked for.
(sleep 1; echo "slow done" > "$TMPDIR/slow") &
slow=$!
(echo "quick done" > "$TMPDIR/quick") &
quick=$!
wait $slow; echo "slow $?"
wait $quick; echo "quick $?"
cat "$TMPDIR/slow" "$TMPDIR/quick"
wait; echo "nothing left $?"
