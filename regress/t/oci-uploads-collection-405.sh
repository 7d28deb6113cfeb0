#!/bin/bash
# Methods other than POST on the uploads collection get 405 and nothing
# else: no upload session is started behind the answer, and the
# connection serves the next request.
. regress/lib.sh

regd_start
for m in GET PUT PATCH DELETE; do
	http "$m" "$URL/v2/lib/app/blobs/uploads/" -H 'Content-Length: 0'
	check_eq "$STATUS" 405 "$m on the uploads collection"
	expect_error 405 UNSUPPORTED
done
n=$(find "$T/storage" -path '*/_uploads/*' -name startedat | wc -l)
check_eq "$n" 0 "upload sessions started by refused methods"
# One connection: the 405, then a request that must be answered.
curl -s -o /dev/null -w '%{http_code} ' -X GET \
    "$URL/v2/lib/app/blobs/uploads/" --next -s -o /dev/null \
    -w '%{http_code}\n' "$URL/v2/" > "$T/codes"
check_eq "$(cat "$T/codes")" "405 200" "405, then /v2/ on one connection"
exit 0
