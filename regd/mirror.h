/*
 * Mirror mode inside storage (mirror.c): parked GETs of mirrored
 * repositories and what the fetcher sends back.  Include after store.h.
 */

#ifndef MIRROR_H
#define MIRROR_H

/* mirror.c */
void	 mirror_set_fetcher(struct chan *);
int	 mirror_get(int, uint32_t, uint32_t, const struct st_req *);
void	 mirror_dispatch(struct chan *, struct msg *);
void	 mirror_fetcher_gone(void);
void	 mirror_front_gone(int);

/* storage.c: answer request id of frontend slot (fd is given away) */
void	 storage_answer(int, uint32_t, struct st_res *, int, const void *);

#endif /* MIRROR_H */
