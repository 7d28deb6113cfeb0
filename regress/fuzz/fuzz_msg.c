/*
 * Fuzz target: the message framing of privsep/msg.c on bytes no honest
 * peer would send.  The input goes down a real socketpair in pieces sized
 * by its first byte; chan_read() takes them in and chan_get() hands out
 * messages until it wants more or calls the peer a liar.  Every message
 * given out must lie inside what was read; after a refusal nothing more
 * is read, as the daemon drops such a peer.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep.h"
#include "fuzz.h"

static volatile unsigned char sink;

static void
take(struct chan *c, int *bad)
{
	struct msg	 m;
	size_t		 i;
	int		 rv;

	while (!*bad && (rv = chan_get(c, &m)) != 0) {
		if (rv == -1) {
			*bad = 1;
			break;
		}
		if (m.len != m.hdr.len || m.len > MSG_MAXPAYLOAD ||
		    (m.len > 0 && m.data == NULL))
			abort();
		/* Touch every payload byte so ASan checks the bounds. */
		for (i = 0; i < m.len; i++)
			sink += ((unsigned char *)m.data)[i];
		if (m.fd != -1)
			close(m.fd);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan	 c;
	int		 sp[2], bad = 0;
	size_t		 step, off, n;
	ssize_t		 w;

	if (size < 1)
		return (0);
	step = data[0] == 0 ? 4096 : data[0] * 7;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		return (0);
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	chan_init(&c, sp[1]);
	for (off = 0; off < size && !bad; off += n) {
		n = size - off < step ? size - off : step;
		if ((w = write(sp[0], data + off, n)) <= 0)
			break;
		n = w;
		while (!bad) {
			if (chan_read(&c) <= 0) {
				if (errno == ENOBUFS)
					take(&c, &bad);
				break;
			}
			take(&c, &bad);
		}
	}
	close(sp[0]);
	if (!bad) {
		while (chan_read(&c) > 0)
			take(&c, &bad);
		take(&c, &bad);
	}
	chan_clear(&c);
	return (0);
}
