# Here-documents: unquoted (expanded) and quoted delimiters, <<-, several
# on one line, to other descriptors, big ones, in loops and functions.
name=world
cat <<EOF
hello $name
sum $((1 + 2))
command $(echo substituted)
backticks `echo too`
escaped \$name and \\ and \`
EOF
cat <<'EOF'
hello $name
$(echo not run) `echo nor this` \$ \\
EOF
cat <<"EOF"
double-quoted delimiter $name
EOF
cat <<E\OF
partly quoted delimiter $name
EOF
cat <<-EOF
	leading tabs removed $name
		all of them
	EOF
while read -r num word; do echo "$word=$num"; done <<EOF
1 one
2 two
EOF
cat <<A; cat <<B
first
A
second
B
cat 3<<EOF <&3
on descriptor three
EOF
cat <<EOF | tr a-z A-Z
through a pipe
EOF
cat <<EOF | wc -c
$(seq 1 20000)
EOF
show() {
	cat <<EOF
in a function: $1
EOF
}
show arg
cat <<EOF
EOF
echo "empty document above"
cat <<EOF
$name
  indented $name
EOF
x=$(cat <<'EOF'
captured $name
EOF
)
echo "$x"
