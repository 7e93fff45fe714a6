# Command substitution: $( ) and backticks, nesting, newlines, statuses.
echo "a $(echo b) c"
echo "backtick `echo d`"
echo "nested $(echo x$(echo y$(echo z)))"
echo "nested backticks `echo p\`echo q\``"
echo "mixed $(echo `echo m`)"
x=$(printf 'trail\n\n\n'); echo "[$x]"
y=$(printf 'in\nner'); echo "$y"
v=$(exit 7); echo "assignment status $?"
echo $(echo "  spaced   out  ")
echo "$(echo "  spaced   out  ")"
echo "$(cat <<EOT
from a here-document
EOT
)"
echo $(( $(echo 6) * 7 ))
s=$(seq 1 20000); echo "length ${#s}"
for w in $(echo one two three); do printf '%s.' "$w"; done; echo
echo "$( (echo sub; echo shell) | tr '\n' ' ')"
echo "$(echo "quotes \"inside\"")"
echo "$(case x in x) echo "case inside";; esac)"
echo "stderr: $(echo visible >&2)"
z=$(echo err >&2 2>&1); echo "[$z]"
q=$(echo captured 2>&1 >&2); echo "[$q]"
