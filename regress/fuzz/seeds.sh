#!/bin/sh
#
# regress/fuzz/seeds.sh: write the seed corpora of the fuzz targets into
# regress/fuzz/corpus/<target>/.  The files are committed; this script is
# how they were made, so they can be reviewed and made again.  Files named
# crash-* or bug-* are reproducers of bugs found by fuzzing and are kept
# by hand, never written here.

cd "$(dirname "$0")/corpus" || exit 1

# seed DIR NAME 'printf %b string'
seed()
{
	printf '%b' "$3" > "$1/$2"
}

# HTTP: the first byte is the size of the pieces the input arrives in
# (0: all at once; odd: the body is discarded instead of read).
seed http get '\000GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
seed http get-pieces '\003GET /v2/library/app/manifests/latest HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n'
seed http http10 '\000HEAD /v2/a/blobs/sha256:0 HTTP/1.0\r\n\r\n'
seed http post-clen '\000POST /v2/a/blobs/uploads/?digest=sha256:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/octet-stream\r\n\r\nhello'
seed http patch-chunked '\002PATCH /v2/a/blobs/uploads/0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Range: 0-9\r\n\r\n5;ext=1\r\nhello\r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n'
seed http chunked-discard '\001PUT /v2/a/manifests/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n'
seed http pipelined '\000GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /v2/_catalog?n=2&last=a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nDELETE /v2/a/manifests/t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
seed http expect '\000PUT /v2/a/blobs/uploads/u?digest=sha256:2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nRange: bytes=0-1\r\n\r\nabc'
seed http both-framings '\000POST /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
seed http bad-chunk '\000POST /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n'
seed http folded '\000GET /v2/ HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n'
seed http nul '\000GET /v2/\000 HTTP/1.1\r\nHost: x\r\n\r\n'
seed http version '\000GET /v2/ HTTP/2.0\r\n\r\n'
seed http lf-only '\000GET /v2/ HTTP/1.1\nHost: x\n\n'
# Discarded bodies (odd first byte) followed by a pipelined request: the
# decoder once drained the next request along with the body.
seed http discard-chunked-pipelined '\377POST /v2/a/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
seed http discard-clen-pipelined '\377GET /v2/a/tags/list HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'
seed http auth '\000GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\nAuthorization: Bearer x\r\n\r\n'
# Strict framing: a bare CR in a value, a bare LF inside the head, a
# transfer coding on HTTP/1.0, "Connection" as a token list, trailers
# counted against the head's limits.
seed http bare-cr '\000GET /v2/ HTTP/1.1\r\nHost: x\rX-Smuggle: y\r\n\r\n'
seed http bare-lf-mid '\000GET /v2/ HTTP/1.1\r\nHost: x\nX: y\r\n\r\n'
seed http te-http10 '\000POST /v2/a/blobs/uploads/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
seed http conn-tokens '\000GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, x-close\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n\r\n'
seed http trailers '\002PATCH /v2/a/blobs/uploads/0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 10\r\nK: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\nR: 18\r\nS: 19\r\nT: 20\r\n\r\n'

# Manifests: the first byte picks the Content-Type (bits 0-2), the
# reference (bits 3-4: tag, tag, own digest, wrong digest), an unknown
# length (bit 5) and the body in three pieces (bit 6).  The empty config
# {} and the blobs "layer one" and "layer two" exist in the repository.
EMPTY=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
L1=sha256:$(printf 'layer one' | sha256sum | cut -d' ' -f1)
L2=sha256:$(printf 'layer two' | sha256sum | cut -d' ' -f1)
M0='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"'$EMPTY'","size":2},"layers":[]}'
M0D=sha256:$(printf '%s' "$M0" | sha256sum | cut -d' ' -f1)
IMG='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'$EMPTY'","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'$L1'","size":9},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"'$L2'","size":9,"urls":["http://x"]}],"annotations":{"a":"b"}}'
seed manifest image-tag "\001$IMG"
seed manifest image-digest "\121$IMG"
seed manifest image-wrong-digest "\031$IMG"
seed manifest image-no-type "\000$IMG"
seed manifest image-chunks "\141$IMG"
seed manifest index '\002{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$M0D'","size":10,"platform":{"architecture":"amd64","os":"linux"}}]}'
seed manifest docker-v2 '\003{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"'$EMPTY'","size":2},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"'$L1'","size":9}]}'
seed manifest docker-list '\004{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"'$M0D'","size":1}]}'
seed manifest artifact-subject '\005{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"'$EMPTY'","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$M0D'","size":100}}'
seed manifest unknown-blob '\001{"schemaVersion":2,"config":{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}'
seed manifest bad-json '\001{"schemaVersion":2,'
seed manifest not-object '\001[1,2,3]'
seed manifest schema1 '\001{"schemaVersion":1}'
seed manifest size-float '\001{"schemaVersion":2,"config":{"digest":"'$EMPTY'","size":2.5},"layers":[]}'
seed manifest type-mismatch '\002{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"'$EMPTY'"},"layers":[]}'
seed manifest deep '\001{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'
seed manifest empty '\001'
seed manifest unicode '\001{"schemaVersion":2,"mediaType":"\\u0000x","config":{}}'

# Configuration files.
cat ../../conf/good-full.conf > conf/good-full 2>/dev/null
cat ../../conf/good-macros.conf > conf/good-macros 2>/dev/null
seed conf minimal 'server "a" {\n\tlisten on 127.0.0.1 port 5000\n}\n'
seed conf globals 'user "_regd"\nprefork 3\nstorage "/var/lib/regd"\nsocket "/var/run/regd.sock"\nlog access "/var/log/regd.log"\nlog verbose\n'
seed conf limits 'ip = "127.0.0.1"\nserver "x" {\n\tlisten on $ip port 5000\n\tlisten on ::1 port 5001\n\tdelete yes\n\tconnection { max request body 4M, max headers 50, header timeout 5, idle timeout 60, max connections 100 }\n}\n'
seed conf unterminated 'server "x {\n'
seed conf continuation 'server "x" {\n\tlisten on \\\n 127.0.0.1 port 1\n}\n# comment\r\n'
seed conf bad-number 'prefork 99999999999999999999\n'
seed conf auth 'server "x" {\n\tlisten on 127.0.0.1 port 5000\n\tauthenticate "realm" with "/nonexistent/htpasswd"\n}\n'

# Names, tags, digests, sizes and ranges (util.c): one string each.
for s in library/ubuntu a/b/c a__b a--b a.b ab/ a//b ../x a_ Latest \
    v1.0-rc_1 -tag .tag 1 4k 16M 1G 99999999999999999999 9223372036854775807G \
    'bytes=0-99' 'bytes=-5' 'bytes=10-' 'bytes=5-1' 'bytes=0-1,4-5' \
    'bytes 0-1023' '0-0' '-' 'bytes=' '00000000000000000000000-1' \
    sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 \
    sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 \
    sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e \
    md5:d41d8cd98f00b204e9800998ecf8427e \
    0a1b2c3d-0000-4000-8000-000000000000; do
	printf '%s' "$s" > "util/$(printf '%s' "$s" | sha1sum | cut -c1-12)"
done

# htpasswd files.
H='$2y$05$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'
seed htpasswd one "alice:$H\n"
seed htpasswd two "# users\n\nbob:$H\nalice:$H:extra:fields\r\n"
seed htpasswd twice "alice:$H\nalice:$H\n"
seed htpasswd md5 'alice:$apr1$abc$defghijklmnopqrstuvwx\n'
seed htpasswd sha 'alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n'
seed htpasswd no-colon 'alice\n'
seed htpasswd empty-user ":$H\n"
seed htpasswd no-newline "carol:$H"

# Framing: messages as privsep/msg.c writes them (header: type, len,
# peerid, pid, flags, each 32 bits little-endian), then wrong ones.  The
# first byte is the piece size in sevens (0: 4096).
le32()
{
	printf "\\\\%03o\\\\%03o\\\\%03o\\\\%03o" $(($1 & 255)) \
	    $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}
hdr()
{
	printf '%s%s%s%s%s' "$(le32 "$1")" "$(le32 "$2")" "$(le32 "$3")" \
	    "$(le32 4242)" "$(le32 "$4")"
}
seed msg one "\000$(hdr 9 5 1 0)hello"
seed msg two-split "\001$(hdr 9 3 1 0)abc$(hdr 10 0 2 0)"
seed msg empty "\000$(hdr 1 0 0 0)"
seed msg hasfd-without-fd "\000$(hdr 3 0 0 1)"
seed msg bad-flags "\000$(hdr 3 0 0 6)"
seed msg too-long "\000$(hdr 3 262145 0 0)"
seed msg max-announced "\002$(hdr 3 262144 0 0)abcdefgh"
seed msg truncated-header "\000$(le32 9)$(le32 1)"

# JWT: the first byte's bit 0 says the target signs "<header>\n<payload>"
# itself (odd) or takes the rest as the token (even); bit 1 asks for the
# catalog scope instead of repository lib/repo.
mkdir -p jwt
seed jwt signed-good '\001{"alg":"ES256","typ":"JWT"}\n{"iss":"fuzz-issuer","aud":"fuzz-service","sub":"ci","exp":1900000000,"nbf":1700000000,"access":[{"type":"repository","name":"lib/repo","actions":["pull","push"]}]}'
seed jwt signed-catalog '\003{"alg":"ES256"}\n{"iss":"fuzz-issuer","aud":["x","fuzz-service"],"exp":1900000000.5,"access":[{"type":"registry","name":"catalog","actions":["*"]}]}'
seed jwt signed-expired '\001{"alg":"ES256"}\n{"iss":"fuzz-issuer","aud":"fuzz-service","exp":1000,"access":[]}'
seed jwt signed-alg-none '\001{"alg":"none"}\n{"iss":"fuzz-issuer","aud":"fuzz-service","exp":1900000000}'
seed jwt signed-rs256 '\001{"alg":"RS256"}\n{"iss":"fuzz-issuer","aud":"fuzz-service","exp":1900000000}'
seed jwt signed-bad-claims '\001{"alg":"ES256"}\n{"iss":1,"aud":{},"exp":"soon","nbf":[],"sub":7,"access":[{"type":"repository","name":"lib/repo","actions":[1,"delete",null]},"x"]}'
seed jwt raw-three-parts '\000eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA'
seed jwt raw-padding '\000eyJhbGciOiJFUzI1NiJ9=.e30.AA=='
seed jwt raw-two-dots '\000a.b'
seed jwt raw-four-parts '\000a.b.c.d'
seed jwt raw-spaces '\000   e30.e30.e30 trailing'
