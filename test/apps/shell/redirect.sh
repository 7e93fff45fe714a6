# Redirections: >, >>, <, 2>&1, >&, <>, >|, fd duplication and closing.
t=$TMPDIR
echo one > "$t/f"
echo two >> "$t/f"
cat < "$t/f"
wc -l < "$t/f"
echo three > "$t/f"; cat "$t/f"
cat < /dev/null; echo "empty input: $?"
{ echo out; echo err >&2; } > "$t/both" 2>&1; cat "$t/both"
{ echo out; echo err >&2; } 2> "$t/err" > /dev/null; cat "$t/err"
# Order matters: 2>&1 before > keeps stderr on the old stdout.
{ echo err >&2; } 2>&1 > /dev/null | sed 's/^/piped: /'
echo "to stderr" 1>&2 2>/dev/null
# <> opens for reading and writing without truncating.
printf 'line1\nline2\nline3\n' > "$t/rw"
exec 3<> "$t/rw"
read -r first <&3
echo "read: $first"
echo XX >&3
exec 3>&-
cat "$t/rw"
# A descriptor of our own.
exec 4> "$t/g"
echo "via fd 4" >&4
echo "again" >&4
exec 4>&-
cat "$t/g"
{ echo "closed" >&5; } 2>/dev/null || echo "fd 5 is not open"
# noclobber and >|.
set -C
if { echo x > "$t/f"; } 2>/dev/null; then echo clobbered; else echo "noclobber refused"; fi
echo forced >| "$t/f"
set +C
cat "$t/f"
# Redirections apply to a whole compound command.
for i in 1 2; do echo "loop $i"; done > "$t/loop"
cat "$t/loop"
if true; then echo "from if"; fi >> "$t/loop"
tail -n 1 "$t/loop"
