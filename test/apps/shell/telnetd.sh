# A telnet server gives each connection a shell on a pseudo-terminal:
# busybox telnetd allocates the pty, the shell gets it as its controlling
# terminal, and what the client sends is typed on it. The server runs in
# the foreground of a process group of its own, killed at the end; the
# client is retried while the server is not listening yet.

port=23231
setsid telnetd -F -p "$port" -l /bin/sh &
server=$!
out=
for try in 1 2 3 4 5 6 7 8 9 10; do
	# The shell's output comes back until it exits and the server closes
	# the connection; the sleep only keeps the client's input open.
	out=$( (echo 'echo tel-$((6*7)); tty; exit'; sleep 3) | nc 127.0.0.1 "$port" 2>/dev/null | tr -d '\r')
	case $out in *tel-42*) break ;; esac
	sleep 1
done
kill -TERM -"$server" 2>/dev/null
wait "$server" 2>/dev/null
case $out in
*tel-42*) echo "the shell ran the command" ;;
*) echo "no answer: $out" ;;
esac
case $out in
*/dev/pts/*) echo "on a pseudo-terminal" ;;
*) echo "not on a pseudo-terminal: $out" ;;
esac
