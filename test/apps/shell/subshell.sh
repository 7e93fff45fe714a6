# Subshells: ( ), isolation of variables, cwd, functions; exit statuses.
x=1
(x=2; echo "inside $x")
echo "outside $x"
(cd /tmp && pwd)
here=$(pwd)
(cd /)
[ "$(pwd)" = "$here" ] && echo "cwd unchanged"
(exit 3); echo "status $?"
(echo a; exit 4; echo never); echo "status $?"
( ( (echo nested) ) )
(echo x; echo y) | wc -l
(f() { echo "f inside"; }; f)
command -v f > /dev/null || echo "f not defined outside"
[ "$(echo $$)" = "$$" ] && echo "\$\$ is the same in a subshell"
export V=exported
sh -c 'echo "child sees $V"'
W=plain; sh -c 'echo "child sees [$W]"'
W=once sh -c 'echo "prefix assignment [$W]"'; echo "after [$W]"
(echo "in the background") > "$TMPDIR/bg" & wait $!
cat "$TMPDIR/bg"
(umask 077; umask); umask 022; umask
(set -- a b; echo "$# args inside"); echo "$# args outside"
(trap 'echo "subshell exit trap"' EXIT; echo "subshell body")
