# Ten wrong passwords in a row from one address: the 11th attempt gets
# 429 TOOMANYREQUESTS with Retry-After, even with the right password,
# whichever of the two frontends takes the connection; the block ends
# after "login block" seconds.  Later failures are slowed down.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
auth_start '	login block 4'
as_user

# Each attempt on a new connection, so both frontends see some.
for i in 1 2 3 4 5 6 7 8 9 10; do
	http GET "$URL/v2/" -u "alice:wrong$i"
	check_eq "$STATUS" 401 "wrong password $i"
done
http GET "$URL/v2/" -u "alice:wrong11"
expect_error 429 TOOMANYREQUESTS
ra=$(hdr Retry-After)
check_match "$ra" '^[1-4]$' "Retry-After"
http GET "$URL/v2/" -u "alice:apass"
check_eq "$STATUS" 429 "the right password while blocked"
# Anonymous requests are not logins: still a plain 401.
http GET "$URL/v2/"
expect_challenge

[ "$(pids_titled frontend | wc -l)" -ge 2 ] || fail "fewer than 2 frontends"
note "frontends that saw failed logins:" \
    "$(grep 'failed login' "$T/regd.log" | cut -d'[' -f2 | cut -d']' -f1 |
    sort -u | tr '\n' ' ')"

sleep 5
http GET "$URL/v2/" -u "alice:apass"
check_eq "$STATUS" 200 "the right password after the block"
# A success resets the count: one more failure is a plain 401.
http GET "$URL/v2/" -u "alice:bad"
expect_challenge
regd_stop
