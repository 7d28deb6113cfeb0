#!/bin/bash
# A request line longer than the limit (8 KiB by default) gets 414; one
# just under it is parsed normally.
. regress/lib.sh

regd_start

long()
{
	head -c "$1" /dev/zero | tr '\0' a
}

# About 4 KB: an ordinary (unknown) path.
http GET "$URL/v2/$(long 4000)"
check_eq "$STATUS" 404 "4 KB request target"

http GET "$URL/v2/$(long 9000)"
check_eq "$STATUS" 414 "9 KB request target"

# A much longer one, without a newline in sight, on a raw connection.
printf 'GET /v2/%s' "$(long 200000)" > "$T/req"
raw_http "$T/req" 5
check_eq "$RAW_STATUS" 414 "200 KB request line"
check_eq "$RAW_CLOSED" 1 "connection closed after 414"

# A configured limit is honoured.
regd_stop
regd_start "" "	max request line 1024"
http GET "$URL/v2/$(long 900)"
check_eq "$STATUS" 404 "900 bytes under a 1 KiB limit"
http GET "$URL/v2/$(long 1100)"
check_eq "$STATUS" 414 "1100 bytes over a 1 KiB limit"

http GET "$URL/v2/"
check_eq "$STATUS" 200 "GET /v2/ afterwards"
exit 0
