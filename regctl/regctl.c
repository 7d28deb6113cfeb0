/*
 * regctl: ask a running regd questions and give it orders over its
 * control socket.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"

struct regd	*env;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-s socket] command [argument ...]\n"
	    "commands: show status | show repos | show tags REPO | reload |\n"
	    "          log verbose | log brief | gc [-n] [--untagged] |\n"
	    "          fsck [-r] | rm REPO | show usage [REPO] | show mirror |\n"
	    "          show notify\n",
	    getprogname());
	exit(1);
}

/* Connect to regd's control socket, or exit saying why not. */
static int
ctl_connect(const char *sock)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sock, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "%s: socket path too long", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			errx(1, "%s: regd is not running (%s)", sock,
			    strerror(errno));
		if (errno == EACCES)
			errx(1, "%s: permission denied (the control socket "
			    "is for root)", sock);
		err(1, "%s", sock);
	}
	return (fd);
}

/*
 * Send the request, print the text of the answer, and return the status
 * it ends with.  wait: ms for each part of the answer, -1 for ever.
 */
static int
ctl_request(const char *sock, uint32_t type, const void *data, size_t len,
    int wait)
{
	struct chan		 c;
	struct msg		 m;
	struct st_ctl_end	 e;
	int			 r;

	chan_init(&c, ctl_connect(sock));
	if (chan_compose(&c, type, 0, -1, data, len) == -1 ||
	    chan_flush(&c) == -1)
		err(1, "write to %s", sock);
	for (;;) {
		if ((r = chan_recv_one(&c, &m, wait)) == -1)
			err(1, "read from %s", sock);
		if (r == 0)
			errx(1, "regd closed the control connection");
		if (m.hdr.type == CTL_TEXT)
			fwrite(m.data, 1, m.len, stdout);
		else if (m.hdr.type == CTL_END) {
			if (MSG_GET(&m, &e) == -1)
				errx(1, "bad answer from regd");
			break;
		} else
			errx(1, "unexpected answer %u from regd", m.hdr.type);
		if (m.fd != -1)
			close(m.fd);
	}
	chan_clear(&c);
	return (e.status);
}

int
main(int argc, char *argv[])
{
	const char		*sock = REGD_SOCKET;
	const void		*data = NULL;
	size_t			 len = 0;
	struct msg_verbose	 mv;
	struct st_ctl_flags	 fl;
	uint32_t		 type;
	int			 ch, i, wait = 30000;

	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    strcmp(argv[1], "status") == 0)
		type = CTL_SHOW_STATUS;
	else if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    strcmp(argv[1], "repos") == 0)
		type = CTL_SHOW_REPOS;
	else if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    strcmp(argv[1], "notify") == 0)
		type = CTL_SHOW_NOTIFY;
	else if (strcmp(argv[0], "show") == 0 && argc == 3 &&
	    strcmp(argv[1], "tags") == 0) {
		type = CTL_SHOW_TAGS;
		data = argv[2];
		len = strlen(argv[2]);
		if (len == 0 || len > MAX_NAME)
			errx(1, "bad repository name");
	} else if (strcmp(argv[0], "reload") == 0 && argc == 1)
		type = CTL_RELOAD;
	else if (strcmp(argv[0], "log") == 0 && argc == 2 &&
	    (strcmp(argv[1], "verbose") == 0 ||
	    strcmp(argv[1], "brief") == 0)) {
		type = CTL_LOG_VERBOSE;
		mv.verbose = strcmp(argv[1], "verbose") == 0;
		data = &mv;
		len = sizeof(mv);
	} else if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    strcmp(argv[1], "mirror") == 0)
		type = CTL_SHOW_MIRROR;
	else if (strcmp(argv[0], "show") == 0 && (argc == 2 ||
	    argc == 3) && strcmp(argv[1], "usage") == 0) {
		type = CTL_SHOW_USAGE;
		if (argc == 3) {
			data = argv[2];
			len = strlen(argv[2]);
			if (len == 0 || len > MAX_NAME)
				errx(1, "bad repository name");
		}
		wait = 600000;
	} else if (strcmp(argv[0], "rm") == 0 && argc == 2) {
		type = CTL_RM;
		data = argv[1];
		len = strlen(argv[1]);
		if (len == 0 || len > MAX_NAME)
			errx(1, "bad repository name");
	} else if (strcmp(argv[0], "gc") == 0) {
		type = CTL_GC;
		fl.flags = 0;
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-n") == 0)
				fl.flags |= GCF_DRYRUN;
			else if (strcmp(argv[i], "--untagged") == 0 ||
			    strcmp(argv[i], "-u") == 0)
				fl.flags |= GCF_UNTAGGED;
			else
				usage();
		}
		data = &fl;
		len = sizeof(fl);
		/* Marking a large tree takes a while before any answer. */
		wait = 600000;
	} else if (strcmp(argv[0], "fsck") == 0 && (argc == 1 ||
	    (argc == 2 && strcmp(argv[1], "-r") == 0))) {
		type = CTL_FSCK;
		fl.flags = argc == 2;
		data = &fl;
		len = sizeof(fl);
		wait = -1;
	} else
		usage();

	return (ctl_request(sock, type, data, len, wait));
}
