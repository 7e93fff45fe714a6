# A here-document of about 120 KB piped into md5sum, over and over: the
# document is bigger than a pipe holds, so the shell forks a child that
# writes it into a pipe while md5sum reads. Three forms: an expanded
# document as md5sum's input, the same through cat and a second pipe, and
# a literal (quoted) document in a script of its own, sourced. Every sum must be
# the reference, computed from a file. The number of rounds is $1.
rounds=${1:-30}
: "${TMPDIR:=/tmp}"
ref_file=$TMPDIR/ref
seq 1 22000 > "$ref_file"
ref=$(md5sum < "$ref_file")
echo "reference: $ref, $(wc -c < "$ref_file") bytes"
doc=$(cat "$ref_file")
{
	echo "md5sum <<'END_OF_DOCUMENT'"
	cat "$ref_file"
	echo "END_OF_DOCUMENT"
} > "$TMPDIR/literal.sh"

bad=0
round=0
compare() {
	if [ "$2" != "$ref" ]; then
		bad=$((bad + 1))
		echo "round $round, $1: got \"$2\""
	fi
}
while [ "$round" -lt "$rounds" ]; do
	round=$((round + 1))
	sum=$(md5sum <<EOF
$doc
EOF
)
	compare "expanded document" "$sum"
	sum=$(cat <<EOF | md5sum
$doc
EOF
)
	compare "through cat" "$sum"
	sum=$(. "$TMPDIR/literal.sh")
	compare "literal document" "$sum"
done
if [ "$bad" -eq 0 ]; then
	echo "every sum matches"
else
	echo "$bad of $((3 * rounds)) sums differ"
fi
