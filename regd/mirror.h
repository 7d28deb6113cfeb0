/*
 * Mirror mode inside storage (mirror.c): parked GETs of mirrored
 * repositories and what the fetcher sends back.  Include after store.h.
 */

#ifndef MIRROR_H
#define MIRROR_H

/* mirror.c */
void	 mirror_set_fetcher(struct chan *);
int	 mirror_blob_get(const struct st_blob_get *, struct st_res *, int *,
	    const void **);
int	 mirror_manifest_get(const struct st_manifest_get *, struct st_res *,
	    int *, const void **);
void	 mirror_dispatch(struct chan *, struct msg *);
void	 mirror_fetcher_gone(void);
char	*mirror_ctl_text(size_t *);
void	 mirror_stats_fill(struct store_stats *);

#endif /* MIRROR_H */
