# case: alternatives, globs, character classes, quoting, empty words.
for w in apple banana cherry date 42 "" "a b" x.txt X; do
	case $w in
	apple | banana) echo "$w: apple or banana" ;;
	c*) echo "$w: starts with c" ;;
	[0-9]*) echo "$w: a number" ;;
	"") echo "the empty word" ;;
	*" "*) echo "$w: contains a space" ;;
	*.txt) echo "$w: a text file" ;;
	[[:upper:]]) echo "$w: one capital" ;;
	?a??) echo "$w: four letters, a second" ;;
	*) echo "$w: something else" ;;
	esac
done
case foo in f?o) echo "? matches one character" ;; esac
case "*" in \*) echo "an escaped star is literal" ;; esac
case "*" in "*") echo "a quoted star is literal" ;; esac
case abc in "*") echo "never" ;; *) echo "a quoted star does not glob" ;; esac
case x in (x) echo "the ( form" ;; esac
p=a*; case abc in $p) echo "a pattern from a variable" ;; esac
case abc in "$p") echo "never" ;; *) echo "a quoted variable is literal" ;; esac
case b in [!a]) echo "[!a] negates" ;; esac
case - in [a-]) echo "a - at the end is literal" ;; esac
case nothing in something) echo never ;; esac; echo "no match, status $?"
r=$(case z in z) echo "case in a substitution" ;; esac); echo "$r"
