/*
 * The libFuzzer entry points every target defines, declared once so the
 * targets build clean with -Wmissing-prototypes under gcc and clang.
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 LLVMFuzzerInitialize(int *, char ***) __attribute__((__weak__));

/* tmpfile.c: a scratch file, removed at exit, for loaders that read paths. */
const char	*fuzz_tmpfile(const char *);

#endif /* FUZZ_H */
