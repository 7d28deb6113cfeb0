# regd -n with a certificate and a key that do not belong together says
# so as file:line and fails; the matching pair passes.
. regress/lib.sh
. regress/authlib.sh

make_certs server
make_certs other
regd_conf "" "	listen on 127.0.0.1 port $(free_port) tls
	tls certificate \"$T/server.crt\"
	tls key \"$T/other.key\""
line=$(grep -n 'tls key' "$T/regd.conf" | cut -d: -f1)
if "$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1; then
	fail "regd -n accepted a mismatched pair: $(cat "$T/out")"
fi
grep -q "^$T/regd.conf:$line: .*does not match" "$T/out" ||
    fail "no file:line error for the mismatch: $(cat "$T/out")"

sed -i -e "s|$T/other.key|$T/server.key|" "$T/regd.conf"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 ||
    fail "regd -n refused the matching pair: $(cat "$T/out")"

# A key file that is not PEM is reported too.
echo garbage > "$T/bad.key"
sed -i -e "s|$T/server.key|$T/bad.key|" "$T/regd.conf"
if "$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1; then
	fail "regd -n accepted a key that is not PEM"
fi
grep -q "^$T/regd.conf:$line: tls key" "$T/out" ||
    fail "no file:line error for the bad key: $(cat "$T/out")"
