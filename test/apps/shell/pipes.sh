# Pipelines: data flow, exit statuses, `!`, pipefail, SIGPIPE, big data.
echo hello world | tr a-z A-Z
printf 'c\nb\na\n' | sort | head -n 2
printf 'one\ntwo\nthree\n' | wc -l
echo abc | cat | cat | cat | cat
false | true; echo "false|true: $?"
true | false; echo "true|false: $?"
! false | false; echo "negated: $?"
(set -o pipefail; false | true; echo "pipefail: $?")
# Every part of a pipeline runs in a subshell: the assignment is lost.
x=outer; echo inner | read x; echo "x=$x"
# More data than a pipe buffer holds.
seq 1 20000 | tail -n 1
seq 1 20000 | wc -c
cat /dev/zero | head -c 200000 | wc -c
# The writer gets SIGPIPE once the reader is gone.
yes | head -n 3
(yes; echo "yes ended" >&2) 2>&1 | head -n 1
# stderr into the pipe as well.
{ echo out; echo err >&2; } 2>&1 | sort
echo "a b c" | { read first rest; echo "first=$first rest=$rest"; }
