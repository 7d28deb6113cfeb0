# The htpasswd file is read again on SIGHUP: a changed password works
# and the old one stops working (the credentials cache goes with the old
# frontends); a reload with a bad htpasswd keeps the running logins.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice first
auth_start
as_user alice:first
# Twice, so the second answer may come from the cache.
for i in 1 2; do
	http GET "$URL/v2/"
	check_eq "$STATUS" 200 "first password ($i)"
done

: > "$T/htpasswd"
htpasswd_add alice second
kill -HUP "$REGD_PID"
n=0
while :; do
	http GET "$URL/v2/" -u alice:second
	[ "$STATUS" = 200 ] && break
	n=$((n + 1))
	[ $n -lt 50 ] || fail "new password not accepted after SIGHUP: $STATUS"
	sleep 0.1
done
http GET "$URL/v2/"
expect_challenge

# A broken file: the reload fails and alice:second still works.
htpasswd -mbn alice third > "$T/htpasswd"
kill -HUP "$REGD_PID"
sleep 1
grep -q 'unsupported hash' "$T/regd.log" || fail "no error logged for the reload"
http GET "$URL/v2/" -u alice:second
check_eq "$STATUS" 200 "password after a failed reload"
regd_stop
