# Functions: arguments, return, local variables, recursion, redirections.
greet() { echo "hello $1, $# args"; }
greet world a b
add() { echo $(( $1 + $2 )); }
echo "sum $(add 2 3)"
x=global
outer() { local x=local; echo "outer: $x"; inner; }
inner() { echo "inner sees: $x"; x=changed; }
outer; echo "after: $x"
counter=0
incr() { counter=$((counter + 1)); }
incr; incr; echo "counter $counter"
ret() { return $1; }
ret 3; echo "return $?"
args() { for a in "$@"; do printf '<%s>' "$a"; done; echo; }
args "a b" c "" d
star() { echo "$*"; }
star 1 2 3
fact() {
	if [ "$1" -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi
}
echo "5! = $(fact 5)"
set -- p q
show() { echo "in: $*"; }
show x y z; echo "after: $*"
drop2() { shift 2; echo "$@"; }
drop2 1 2 3 4
logit() { echo "log $1"; }
logit one > "$TMPDIR/log"; cat "$TMPDIR/log"
noisy() { echo "to stdout"; echo "to stderr" >&2; } 2>/dev/null
noisy
loc() { local a=1 b; b=2; echo "local a=$a b=$b"; }
a=outer_a; b=outer_b; loc; echo "a=$a b=$b"
early() { echo first; return; echo never; }
early; echo "early $?"
unset -f greet
greet 2>/dev/null || echo "greet is gone"
