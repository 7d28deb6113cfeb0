# regd: container image registry daemon

PREFIX?=	/usr/local
DESTDIR?=
SBINDIR=	${PREFIX}/sbin
MANDIR=		${PREFIX}/share/man

CC?=		cc
YACC=		byacc
COPTS?=		-O2 -g
CFLAGS=		${COPTS} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS+=	-Wmissing-prototypes -Wstrict-prototypes -Wshadow -Wpointer-arith
CFLAGS+=	-Iprivsep -Iregd $(shell pkg-config --cflags libbsd-overlay)
LDLIBS=		-levent -levent_openssl -lssl -lcrypto -ljansson -lseccomp \
		-lcrypt -pthread $(shell pkg-config --libs libbsd-overlay) \
		$(shell pkg-config --libs libcurl)

PRIVSEP_SRCS=	privsep/msg.c privsep/log.c privsep/sandbox.c privsep/title.c
REGD_SRCS=	regd/regd.c regd/parse.c regd/frontend.c regd/http.c \
		regd/api.c regd/storage.c regd/store_fs.c regd/store_io.c \
		regd/store_job.c \
		regd/store_list.c regd/store_gc.c regd/store_reg.c \
		regd/store_digest.c regd/store_cache.c regd/store_manifest.c \
		regd/store_upload.c regd/store_quota.c \
		regd/logger.c regd/control.c regd/util.c \
		regd/tls.c regd/auth.c regd/authconf.c regd/jwt.c \
		regd/sdnotify.c regd/proc.c regd/metrics.c regd/store_stats.c \
		regd/fetcher.c regd/mirror.c regd/mirror_cache.c \
		regd/store_s3.c regd/s3.c \
		regd/s3xml.c regd/sigv4.c
REGD_SRCS+=	regd/notify.c regd/notify_conf.c regd/front_notify.c
REGCTL_SRCS=	regctl/regctl.c

PRIVSEP_OBJS=	${PRIVSEP_SRCS:.c=.o}
REGD_OBJS=	${REGD_SRCS:.c=.o}
REGCTL_OBJS=	${REGCTL_SRCS:.c=.o}

PROGS=		regd/regd regctl/regctl
UNIT_PROGS=	regress/unit/test_msg regress/unit/test_parse \
		regress/unit/test_util regress/unit/sandbox_kill \
		regress/unit/test_storage
UNIT_PROGS+=	regress/unit/test_sigv4 regress/unit/test_backend
UNIT_PROGS+=	regress/unit/test_s3xml

all: ${PROGS}

regd/regd: ${REGD_OBJS} ${PRIVSEP_OBJS}
	${CC} ${LDFLAGS} -o $@ ${REGD_OBJS} ${PRIVSEP_OBJS} ${CURL_LIBS} \
	    ${LDLIBS}

regctl/regctl: ${REGCTL_OBJS} ${PRIVSEP_OBJS}
	${CC} ${LDFLAGS} -o $@ ${REGCTL_OBJS} ${PRIVSEP_OBJS} ${LDLIBS}

regd/parse.c: regd/parse.y
	${YACC} -o $@ regd/parse.y

regd/parse.o: regd/parse.c
	${CC} ${CFLAGS} -Wno-missing-prototypes -Wno-unused-but-set-variable \
	    -Wno-shadow -c -o $@ regd/parse.c

${REGD_OBJS} ${PRIVSEP_OBJS} ${REGCTL_OBJS}: regd/regd.h privsep/privsep.h
${STORAGE_OBJS} regd/store_mem.o: regd/store.h regd/store_backend.h

# Unit test programs link the daemon's objects they test.
regress/unit/test_msg: regress/unit/test_msg.c ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/test_msg.c ${PRIVSEP_OBJS} ${LDLIBS}

regress/unit/test_parse: regress/unit/test_parse.c regd/parse.o regd/util.o \
    regd/tls.o regd/authconf.o regd/notify_conf.o ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/test_parse.c regd/parse.o \
	    regd/util.o regd/tls.o regd/authconf.o regd/notify_conf.o \
	    ${PRIVSEP_OBJS} ${LDLIBS}

regress/unit/test_util: regress/unit/test_util.c regd/util.o ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/test_util.c regd/util.o \
	    ${PRIVSEP_OBJS} ${LDLIBS}

regress/unit/sandbox_kill: regress/unit/sandbox_kill.c ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/sandbox_kill.c ${PRIVSEP_OBJS} \
	    ${LDLIBS}

STORAGE_OBJS=	regd/storage.o regd/store_fs.o regd/store_io.o regd/store_job.o \
		regd/store_list.o regd/store_gc.o regd/store_reg.o \
		regd/store_digest.o regd/store_cache.o regd/store_manifest.o \
		regd/store_upload.o regd/store_quota.o regd/util.o \
		regd/store_s3.o regd/s3.o regd/s3xml.o regd/sigv4.o \
		regd/store_stats.o regd/mirror_cache.o

# After STORAGE_OBJS is set: the objects follow the interface's changes.
${STORAGE_OBJS} regd/store_mem.o: regd/store.h regd/store_backend.h

regress/unit/test_storage: regress/unit/test_storage.c ${STORAGE_OBJS} \
    regd/mirror.o regd/proc.o ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/test_storage.c ${STORAGE_OBJS} \
	    regd/mirror.o regd/proc.o ${PRIVSEP_OBJS} ${LDLIBS}

regd/regd.o regd/sdnotify.o: regd/sdnotify.h

# The backend conformance test: both backends, the registry above them.
BACKEND_OBJS=	${STORAGE_OBJS:regd/storage.o=regd/store_mem.o}

regress/unit/test_backend: regress/unit/test_backend.c ${BACKEND_OBJS} \
    ${PRIVSEP_OBJS}
	${CC} ${CFLAGS} -o $@ regress/unit/test_backend.c ${BACKEND_OBJS} \
	    ${PRIVSEP_OBJS} ${LDLIBS}

regd/sigv4.o: regd/sigv4.h

regress/unit/test_sigv4: regress/unit/test_sigv4.c regd/sigv4.o
	${CC} ${CFLAGS} -o $@ regress/unit/test_sigv4.c regd/sigv4.o ${LDLIBS}

# The S3 client (regd/s3.c on libcurl) and its XML reader (regd/s3xml.c).
CURL_CFLAGS=	$(shell pkg-config --cflags libcurl)
CURL_LIBS=	$(shell pkg-config --libs libcurl)
S3_OBJS=	regd/s3.o regd/s3xml.o regd/sigv4.o

regd/s3.o: regd/s3.c regd/s3.h regd/sigv4.h
	${CC} ${CFLAGS} ${CURL_CFLAGS} -c -o $@ regd/s3.c

regd/s3xml.o: regd/s3.h

regd/notify.o: regd/notify.c
	${CC} ${CFLAGS} ${CURL_CFLAGS} -c -o $@ regd/notify.c

regress/unit/test_s3xml: regress/unit/test_s3xml.c regd/s3xml.o
	${CC} ${CFLAGS} -o $@ regress/unit/test_s3xml.c regd/s3xml.o ${LDLIBS}

# Helpers of the S3 tests (regress/s3/): built by "make units", not run.
S3_PROGS=	regress/s3/s3req regress/s3/s3test

regress/s3/s3req: regress/s3/s3req.c regd/sigv4.o
	${CC} ${CFLAGS} -o $@ regress/s3/s3req.c regd/sigv4.o ${LDLIBS}

regress/s3/s3test: regress/s3/s3test.c ${S3_OBJS}
	${CC} ${CFLAGS} -o $@ regress/s3/s3test.c ${S3_OBJS} ${CURL_LIBS} \
	    ${LDLIBS}

# Fuzz targets: each regress/fuzz/fuzz_X.c is a libFuzzer target and,
# linked with replay.c, a regress program replaying its seed corpus
# regress/fuzz/corpus/X (so "make test" and "make asan" replay them).
FUZZ_CFLAGS=	-Iregress/fuzz
# run.sh reads UNIT_PROGS from this file as text: keep the names spelled out.
UNIT_PROGS+=	regress/fuzz/replay_http regress/fuzz/replay_msg \
		regress/fuzz/replay_manifest regress/fuzz/replay_conf \
		regress/fuzz/replay_util regress/fuzz/replay_htpasswd \
		regress/fuzz/replay_jwt regress/fuzz/replay_s3xml
FUZZ_TARGETS=	http msg manifest conf util htpasswd jwt s3xml
FUZZ_REPLAYS=	${FUZZ_TARGETS:%=regress/fuzz/replay_%}
FUZZ_OBJS_http=	regd/http.o
FUZZ_OBJS_msg=	privsep/msg.o privsep/log.o
FUZZ_OBJS_manifest= ${STORAGE_OBJS:regd/storage.o=} privsep/msg.o privsep/log.o
FUZZ_OBJS_conf=	regd/parse.o regd/util.o regd/tls.o regd/authconf.o \
		regd/notify_conf.o privsep/msg.o privsep/log.o regress/fuzz/tmpfile.o
FUZZ_OBJS_util=	regd/util.o
FUZZ_OBJS_htpasswd= regd/authconf.o regress/fuzz/tmpfile.o
FUZZ_OBJS_jwt=	regd/jwt.o
FUZZ_OBJS_s3xml= regd/s3xml.o

define fuzz_rules
regress/fuzz/replay_$(1): regress/fuzz/fuzz_$(1).c regress/fuzz/replay.c \
    regress/fuzz/fuzz.h $${FUZZ_OBJS_$(1)}
	$${CC} $${CFLAGS} $${FUZZ_CFLAGS} -DCORPUS='"regress/fuzz/corpus/$(1)"' \
	    -o $$@ regress/fuzz/fuzz_$(1).c regress/fuzz/replay.c \
	    $${FUZZ_OBJS_$(1)} $${LDFLAGS} $${LDLIBS}
regress/fuzz/fuzz_$(1): regress/fuzz/fuzz_$(1).c regress/fuzz/fuzz.h \
    $${FUZZ_OBJS_$(1)}
	$${CC} $${CFLAGS} $${FUZZ_CFLAGS} -fsanitize=fuzzer -o $$@ \
	    regress/fuzz/fuzz_$(1).c $${FUZZ_OBJS_$(1)} $${LDLIBS}
endef
$(foreach t,${FUZZ_TARGETS},$(eval $(call fuzz_rules,$(t))))

units: ${UNIT_PROGS} ${S3_PROGS}

deps:
	@sh regress/deps.sh

deps-run:
	@sh regress/deps.sh run

# "make run" reads /etc/regd.conf when there is one, else the defaults.
run: deps-run all
	@mkdir -p /var/lib/regd
	@if [ -f /etc/regd.conf ]; then \
	    echo "make run: using /etc/regd.conf (move it away for the" \
		"built-in defaults)"; \
	else \
	    echo "make run: no /etc/regd.conf, built-in defaults:" \
		"127.0.0.1:5000, storage /var/lib/regd"; \
	fi
	./regd/regd -d

# TESTS selects tests by name or glob (regress/run.sh); all by default.
# ./dev test prints the summary again after make's own error line.
test: deps all units fuzz-replay-asan
	@set -f; echo sh regress/run.sh ${TESTS}; sh regress/run.sh ${TESTS}

# The S3 backend's tests, each on a throw-away Ceph radosgw (also in
# "make test"; they skip where Ceph is not installed).
test-s3: deps all units
	sh regress/run.sh 's3-*' test_backend

# A Debian 12 root made by debootstrap, where the README's two commands
# run as written (regress/fresh.sh); slow, not part of "make test".
test-fresh:
	sh regress/fresh.sh

# The seed corpora replayed by programs built with ASan and UBSan (in
# .replay-asan/, like asan), so every test run checks them sanitized.
fuzz-replay-asan:
	rm -rf .replay-asan
	mkdir -p .replay-asan
	cp -R Makefile privsep regd regctl regress .replay-asan/
	${MAKE} -s -C .replay-asan clean
	${MAKE} -s -j2 -C .replay-asan ${FUZZ_REPLAYS} COPTS="${ASAN_FLAGS}" \
	    LDFLAGS="-fsanitize=address,undefined"
	cd .replay-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    sh regress/run.sh 'replay_*'

# The sanitizer build lives in .asan/ so the normal build stays as it is.
ASAN_FLAGS=	-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all
# The whole tree: tests also read README, etc/, man/, debian/ and ./dev.
asan: deps
	rm -rf .asan
	mkdir -p .asan
	cp -R Makefile README dev privsep regd regctl regress etc man debian \
	    .asan/
	${MAKE} -C .asan clean
	${MAKE} -C .asan all units COPTS="${ASAN_FLAGS}" \
	    LDFLAGS="-fsanitize=address,undefined"
	cd .asan && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    REGD_ASAN=1 REGRESS_TIMEOUT=$${REGRESS_TIMEOUT:-900} \
	    sh regress/run.sh

# The libFuzzer build is clang with ASan and UBSan in .fuzz/, like asan.
FUZZ_SECONDS?=	600
FUZZ_COPTS=	-O1 -g -fsanitize=address,undefined,fuzzer-no-link \
		-fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz:
	@dpkg -s clang libclang-rt-14-dev >/dev/null 2>&1 || \
	    apt-get install -y -q --no-install-recommends clang \
	    libclang-rt-14-dev
	rm -rf .fuzz
	mkdir -p .fuzz
	cp -R Makefile privsep regd regctl regress .fuzz/
	${MAKE} -C .fuzz clean
	${MAKE} -C .fuzz fuzz-build CC=clang COPTS="${FUZZ_COPTS}"
	cd .fuzz && sh regress/fuzz/run.sh ${FUZZ_SECONDS} \
	    "${CURDIR}/regress/fuzz/crashes" ${FUZZ_TARGETS}

fuzz-build: ${FUZZ_TARGETS:%=regress/fuzz/fuzz_%} ${FUZZ_REPLAYS}

# Replay the seed corpora alone (make test replays them too).
fuzz-replay: ${FUZZ_REPLAYS}
	sh regress/run.sh 'replay_*'

# Several minutes of mixed load; not part of "make test".
SOAK_SECONDS?=	300
soak: all
	SOAK_SECONDS=${SOAK_SECONDS} bash regress/soak.sh

# The benchmark against Distribution and nginx (regress/bench/README);
# not part of make test.  bench-smoke runs every workload for about 2 s.
bench: deps all
	@sh regress/bench/deps.sh
	timeout 900 bash regress/bench/bench.sh

bench-smoke: deps all
	@sh regress/bench/deps.sh
	timeout 300 bash regress/bench/bench.sh -s

# How long storage stalls other requests under gc and a big upload.
bench-stall: deps all
	timeout 600 bash regress/bench/stall.sh

# Mirror mode against Distribution: cold, warm, 32 clients on one blob.
bench-mirror: deps all
	timeout 900 bash regress/bench/mirror.sh

# Manifest GET rate and CPU per request with and without a scrape of the
# metrics listener every 100 ms (regress/bench/README).
bench-metrics: deps all
	@sh regress/bench/deps.sh
	timeout 600 bash regress/bench/metrics.sh

# regd's S3 backend against radosgw itself: push, cold GET, redirect,
# two instances behind nginx (regress/bench/README).
bench-s3: deps all units
	@sh regress/bench/deps.sh
	timeout 1500 bash regress/bench/s3.sh

.PHONY: bench bench-smoke bench-stall bench-mirror bench-metrics bench-s3

# The unit and rc script run ${SBINDIR}/regd; the example configuration
# goes to /etc/regd.conf only when there is none.
UNITDIR?=	/lib/systemd/system
RCDIR?=		/etc/init.d
CONFDIR?=	/etc

install: all
	install -d ${DESTDIR}${SBINDIR} ${DESTDIR}${MANDIR}/man5 \
	    ${DESTDIR}${MANDIR}/man8 ${DESTDIR}${UNITDIR} ${DESTDIR}${RCDIR} \
	    ${DESTDIR}${CONFDIR}
	install -m 0755 regd/regd regctl/regctl ${DESTDIR}${SBINDIR}
	install -m 0644 man/regd.conf.5 ${DESTDIR}${MANDIR}/man5
	install -m 0644 man/regd.8 man/regctl.8 ${DESTDIR}${MANDIR}/man8
	sed -e 's|/usr/local/sbin/regd|${SBINDIR}/regd|g' etc/regd.service \
	    > ${DESTDIR}${UNITDIR}/regd.service
	chmod 0644 ${DESTDIR}${UNITDIR}/regd.service
	sed -e 's|/usr/local/sbin/regd|${SBINDIR}/regd|g' etc/regd.rc \
	    > ${DESTDIR}${RCDIR}/regd
	chmod 0755 ${DESTDIR}${RCDIR}/regd
	@if [ -e ${DESTDIR}${CONFDIR}/regd.conf ]; then \
	    echo "install: ${DESTDIR}${CONFDIR}/regd.conf exists, left alone"; \
	else \
	    install -m 0644 etc/regd.conf ${DESTDIR}${CONFDIR}/regd.conf; \
	fi

# A Debian package built by dpkg-buildpackage from debian/, in a copy of
# the sources under DEBDIR where the .deb lands too; lintian checks it
# when installed (regress/deps.sh installs what this needs).
DEBDIR?=	build/deb
DEB_SRCS=	Makefile README privsep regd regctl man etc debian
deb:
	rm -rf ${DEBDIR}
	mkdir -p ${DEBDIR}/regd
	cp -R ${DEB_SRCS} ${DEBDIR}/regd/
	cd ${DEBDIR}/regd && dpkg-buildpackage -b -us -uc -j2
	@if command -v lintian > /dev/null; then \
	    echo lintian ${DEBDIR}/*.changes; \
	    lintian --fail-on error,warning ${DEBDIR}/*.changes; \
	fi
	@ls -l ${DEBDIR}/*.deb

lint:
	mandoc -Tlint -Wwarning man/*.[58]

clean:
	rm -f ${PROGS} ${UNIT_PROGS} ${S3_PROGS} regd/parse.c */*.o regress/unit/*.o \
	    regress/fuzz/*.o

.PHONY: all deps deps-run run test test-s3 test-fresh asan install lint clean deb units fuzz-replay-asan fuzz fuzz-build \
	 fuzz-replay soak
