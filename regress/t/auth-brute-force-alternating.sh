# An attacker who knows bob's password guesses alice's and logs in as bob
# between guesses, so that each good login would reset the count.  Failed
# logins are counted per (address, user) and per address: after "max
# login failures" (3) wrong passwords alice is blocked from this address
# (429, even with her right password) while bob still logs in; guesses
# spread over other user names block the whole address after 4 x 3
# failures, bob included.
. regress/lib.sh
. regress/authlib.sh

htpasswd_add alice apass
htpasswd_add bob bpass
auth_start '	max login failures 3
	login block 60'
as_user

for i in 1 2 3 4 5 6; do
	http GET "$URL/v2/" -u bob:bpass
	check_eq "$STATUS" 200 "bob's good login $i"
	http GET "$URL/v2/" -u "alice:guess$i"
	if [ "$i" -le 3 ]; then
		expect_challenge
	else
		expect_error 429 TOOMANYREQUESTS
		check_match "$(hdr Retry-After)" '^[0-9]+$' "Retry-After"
	fi
done
http GET "$URL/v2/" -u alice:apass
expect_error 429 TOOMANYREQUESTS
http GET "$URL/v2/" -u bob:bpass
check_eq "$STATUS" 200 "bob while alice is blocked"

# Spraying other names: 3 failures for alice so far, 9 more block the
# address.
for i in 1 2 3 4 5 6 7 8 9; do
	http GET "$URL/v2/" -u "user$i:guess"
	expect_challenge
	http GET "$URL/v2/" -u bob:bpass
	[ "$i" -lt 9 ] && check_eq "$STATUS" 200 "bob after $i sprayed guesses"
done
expect_error 429 TOOMANYREQUESTS
http GET "$URL/v2/" -u "user10:guess"
expect_error 429 TOOMANYREQUESTS
regd_stop
