# set -e (always in subshells, so that the script itself goes on).
(set -e; echo before; false; echo "not reached"); echo "subshell status $?"
(set -e; false || echo "|| keeps going"; echo "still here")
(set -e; if false; then :; fi; echo "an if condition may fail")
(set -e; while false; do :; done; echo "a loop condition may fail")
(set -e; ! true; echo "a negated command may fail")
(set -e; false && true; echo "the left of && may fail")
(set -e; false | true; echo "only the last of a pipeline counts")
(set -e; f() { false; echo "not reached"; }; f; echo "not reached"); echo "function status $?"
(set -e; x=$(false); echo "not reached"); echo "assignment status $?"
(set -e; sh -c 'exit 3'; echo "not reached"); echo "child status $?"
(set -e; (exit 4); echo "not reached"); echo "nested subshell status $?"
(set -e; set +e; false; echo "set +e turns it off")
(set -eu; echo "$undefined_variable"; echo "not reached") 2>/dev/null; echo "set -u status $?"
