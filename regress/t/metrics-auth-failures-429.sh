#!/bin/bash
# Failed logins and 429 answers are counted on the metrics listener,
# whichever frontend saw them.
. regress/lib.sh
. regress/authlib.sh

MPORT=$(free_port)
htpasswd_add alice apass
auth_start '	max login failures 3' "metrics {
	listen on 127.0.0.1 port $MPORT
}"
as_user

val()
{
	curl -sf "http://127.0.0.1:$MPORT/metrics" |
	    awk -v s="$1" '$1 == s { print $2 }'
}

check_eq "$(val regd_auth_failed_logins_total)" 0 "failed logins at start"
for i in 1 2 3; do
	http GET "$URL/v2/" -u "alice:wrong$i"
	check_eq "$STATUS" 401 "wrong password $i"
done
http GET "$URL/v2/" -u "alice:wrong4"
check_eq "$STATUS" 429 "after 3 failures"
http GET "$URL/v2/" -u "alice:apass"
check_eq "$STATUS" 429 "the right password while blocked"
check_eq "$(val regd_auth_failed_logins_total)" 3 "failed logins"
t=$(val regd_http_throttled_total)
check_eq "$t" 2 "429 answers counted"
check_eq "$(curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '
    /^regd_http_requests_total\{route="base",method="GET",code="429"\}/ {
	n += $2 } END { print n + 0 }')" "$t" "429s by route"
alive "$REGD_PID" || fail "regd died"
exit 0
