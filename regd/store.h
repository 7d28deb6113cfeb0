/*
 * What storage's layers above the backend share (see store_backend.h
 * for the layers).  Include after regd.h.
 */

#ifndef STORE_H
#define STORE_H

#include "store_backend.h"

/* store_list.c */
int	 store_repo_digests(const char *, enum be_link, struct names *);

/* store_reg.c */
int	 store_linked(const char *, enum be_link, const char *);
int	 names_each(void *, const char *, const struct be_stat *);

#endif /* STORE_H */
