#!/bin/bash
#
# The tags list of a repository that does not exist is a 404 NAME_UNKNOWN;
# a repository with blobs but no tag answers 200 or NAME_UNKNOWN, never an
# error of another kind; and `n` that is not a number is a 400.

. ./regress/lib.sh

regd_start

http GET "$URL/v2/no/such/repo/tags/list"
expect_error 404 NAME_UNKNOWN
http GET "$URL/v2/nosuchrepo/tags/list?n=10&last=a"
expect_error 404 NAME_UNKNOWN

make_blob 100 "$T/blob"
push_blob lib/blobsonly "$T/blob"
http GET "$URL/v2/lib/blobsonly/tags/list"
case $STATUS in
200)
	check_eq "$(json_get '.tags | length')" 0 "tags of a blob-only repo"
	;;
404)
	expect_error 404 NAME_UNKNOWN
	;;
*)
	fail "tags of a blob-only repository: status $STATUS"
	;;
esac

push_image lib/tagged v1
for n in abc -1 1e3 ''; do
	http GET "$URL/v2/lib/tagged/tags/list?n=$n"
	case $n in
	'')
		# An empty n is no n at all or a bad one.
		[ "$STATUS" = 200 ] || [ "$STATUS" = 400 ] ||
		    fail "n= (empty): status $STATUS"
		;;
	*)
		check_eq "$STATUS" 400 "tags list with n=$n"
		code=$(jq -r '.errors[0].code' < "$BODY" 2>/dev/null)
		expect_error 400 "$code"
		;;
	esac
done
exit 0
