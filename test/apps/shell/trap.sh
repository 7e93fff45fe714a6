# trap: EXIT, signals sent to the shell itself, ignoring, resetting,
# traps in subshells and children.
trap 'echo "exit trap, status $?"' EXIT
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
kill -USR1 $$; kill -USR1 $$
echo "after two more"
trap 'echo "got USR2 once"; trap - USR2' USR2
kill -USR2 $$
trap '' HUP
kill -HUP $$
echo "HUP ignored"
trap 'echo "TERM trapped"' TERM
kill -TERM $$
echo "after TERM"
# An ignored signal stays ignored in a child, across execve.
sh -c 'kill -HUP $$; echo "child ignores HUP too"'
# A subshell has its own EXIT trap; the parent's does not run there.
(trap 'echo "subshell EXIT trap"' EXIT; echo "subshell body")
(echo "plain subshell")
sh -c 'trap "echo child got TERM; exit 3" TERM; kill -TERM $$; echo not reached'
echo "child status $?"
sh -c 'kill -USR1 $$; echo not reached'
echo "untrapped USR1 status $?"
exit 5
