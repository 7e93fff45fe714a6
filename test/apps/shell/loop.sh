# for, while, until; break and continue (also with levels); loops in pipes.
for i in 1 2 3; do printf '%s ' $i; done; echo
i=0
while [ $i -lt 5 ]; do
	i=$((i + 1))
	[ $i -eq 2 ] && continue
	[ $i -eq 4 ] && break
	printf 'w%s ' $i
done; echo
until [ $i -le 0 ]; do printf 'u%s ' $i; i=$((i - 1)); done; echo
for i in 1 2; do for j in a b c; do [ $j = b ] && continue 2; echo "$i$j"; done; done
for i in 1 2 3; do for j in x y; do [ $i = 2 ] && break 2; echo "$i$j"; done; done
set -- p q r
for a; do printf '[%s]' "$a"; done; echo
touch "$TMPDIR/b.t" "$TMPDIR/a.t" "$TMPDIR/c.t"
for f in "$TMPDIR"/*.t; do printf '%s ' "${f##*/}"; done; echo
for f in "$TMPDIR"/*.none; do echo "no match keeps the pattern: ${f##*/}"; done
for i in 1 2 3; do echo $i; done > "$TMPDIR/nums"
total=0
while read -r n; do total=$((total + n)); done < "$TMPDIR/nums"
echo "total $total"
seq 1 5 | while read -r n; do echo $((n * n)); done | tr '\n' ' '; echo
n=0; while :; do n=$((n + 1)); [ $n -ge 1000 ] && break; done; echo "spun $n times"
for i in 1 2 3; do false; done; echo "loop status $?"
for i in $(seq 1 3); do :; done; echo "last value $i"
IFS=:; for part in a:b:c; do echo "$part"; done; unset IFS
list="x y z"; for v in $list; do printf '%s,' "$v"; done; echo
