# Parameter expansion.
s=hello.tar.gz
echo ${#s} ${s%.*} ${s%%.*} ${s#*.} ${s##*.}
unset u; e=
echo "[${u:-default}] [${e:-default}] [${e-default}] [${u-default}]"
echo "[${u:+alt}] [${s:+alt}] [${e+set}] [${e:+alt}]"
: ${n:=assigned}; echo "$n"
: ${e:=filled}; echo "$e"
(: ${u:?custom message}) 2>&1 | sed 's/.*u: //'
(: ${u:?custom message}; echo "not reached") 2>/dev/null; echo "status $?"
path=/usr/local/bin/tool
echo ${path##*/} ${path%/*} ${path#/usr} ${path%%/*}x
echo ${s:0:5} ${s:6} ${s:6:3}
echo ${s/l/L} ${s//l/L} ${s/tar/zip}
set -- a b c d
echo $# $1 $4 "$*"
shift; echo "$1 $#"
IFS=,; echo "$*"; unset IFS
set -- 1 2 3 4 5 6 7 8 9 ten
echo ${10} $10
x=abc; echo ${x}def "${x}"'lit'
v="a   b"; echo $v; echo "$v"
set -- $v; echo $#
set -- "$v"; echo $#
HOME=/home/test; echo ~ ~/x "~"
echo "${0##*/}"
q='*'; echo "[$q]"
w="two words"; set -- "${w}"; echo $#
unset w; echo "[${w}]"
echo ${#u} ${#e}
