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

/* mirror_cache.c */
void	 mirror_cache_init(void);
void	 mirror_cache_conf(const struct store_conf *);
void	 mirror_cache_add(const char *, const char *, const char *,
	    const unsigned char *, size_t);
void	 mirror_cache_pulled(const char *, const char *, const char *, int);
void	 mirror_cache_evict_all(void);
void	 mirror_cache_flush(void);
int	 mirror_cache_figures(const char *, int64_t *, int64_t *,
	    uint64_t *);
const char *mirror_cache_upstream(int);

#endif /* MIRROR_H */
