# File names are bytes: busybox creates, lists, moves and removes a name
# in Latin-1 (not valid UTF-8).
cd "$TMPDIR" || exit 1
name=$(printf 'lat\351')
touch "$name" && echo "touch ok"
ls "$name" >/dev/null && echo "ls ok"
ls | wc -l
for f in *; do printf '%s' "$f" | od -An -tx1 | tr -s ' '; done
mv "$name" "$(printf 'd\351j\340')" && echo "mv ok"
for f in *; do printf '%s' "$f" | od -An -tx1 | tr -s ' '; done
[ -e "$name" ] || echo "old name gone"
rm "$(printf 'd\351j\340')" && echo "rm ok"
ls | wc -l
