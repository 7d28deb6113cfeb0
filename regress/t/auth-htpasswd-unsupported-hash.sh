# Only bcrypt hashes are accepted in the htpasswd file: an MD5 or SHA-1
# entry is refused by regd -n with file:line and "unsupported hash".
. regress/lib.sh
. regress/authlib.sh

htpasswd -Bbn good pass | sed -e '/^$/d' > "$T/htpasswd"
htpasswd -mbn md5user pass | sed -e '/^$/d' >> "$T/htpasswd"
regd_conf "" "	authenticate with \"$T/htpasswd\""
line=$(grep -n authenticate "$T/regd.conf" | cut -d: -f1)
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 && fail "MD5 hash accepted"
grep -q "^$T/regd.conf:$line: $T/htpasswd:2: unsupported hash" "$T/out" ||
    fail "error: $(cat "$T/out")"

htpasswd -sbn shauser pass | sed -e '/^$/d' > "$T/htpasswd"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 && fail "SHA-1 hash accepted"
grep -q "$T/htpasswd:1: unsupported hash" "$T/out" ||
    fail "error: $(cat "$T/out")"

htpasswd -Bbn good pass | sed -e '/^$/d' > "$T/htpasswd"
printf 'b2user:%s\n' "$(htpasswd -Bbn x y | cut -d: -f2 | sed -e 's/^\$2y/$2b/')" >> "$T/htpasswd"
printf 'aauser:%s\n' "$(htpasswd -Bbn x y | cut -d: -f2 | sed -e 's/^\$2y/$2a/')" >> "$T/htpasswd"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 ||
    fail "bcrypt \$2y\$ \$2b\$ \$2a\$ refused: $(cat "$T/out")"
rm "$T/htpasswd"
"$REGD" -n -f "$T/regd.conf" > "$T/out" 2>&1 && fail "missing htpasswd accepted"
grep -q "^$T/regd.conf:$line: htpasswd" "$T/out" ||
    fail "error: $(cat "$T/out")"
exit 0
