# read: from pipes and here-documents; IFS, -r, backslashes, EOF.
echo "one two three" | { read a b; echo "a=$a b=$b"; }
printf 'x:y:z\n' | { IFS=: read p q r; echo "$p-$q-$r"; }
read -r line <<'EOT'
back\slash kept
EOT
echo "$line"
read line <<'EOT'
back\slash removed
EOT
echo "$line"
read joined <<'EOT'
first \
second
EOT
echo "$joined"
read sp <<'EOT'
   padded   
EOT
echo "[$sp]"
IFS= read -r raw <<'EOT'
   padded   
EOT
echo "[$raw]"
printf 'l1\nl2\nl3' | while read -r l || [ -n "$l" ]; do echo "got $l"; done
read nothing < /dev/null; echo "EOF status $?"
printf 'no newline' | { read -r w; echo "status $? [$w]"; }
{ read a; read b; } <<'EOT'
L1
L2
EOT
echo "$a/$b"
exec 3<<'EOT'
from fd 3
EOT
read v <&3; echo "$v"; exec 3<&-
seq 1 3 | { read x; cat; } | tr '\n' ' '; echo
echo "a b c d" | { read first rest; echo "[$first] [$rest]"; }
echo "only" | { read one two; echo "[$one] [$two]"; }
