/*
 * Binds the glibc functions libmle's C code and the Go runtime's cgo code
 * call to their oldest x86-64 versions, so that one build loads on glibc
 * 2.17 and later (the manylinux_2_28 wheel, the release tarball) whatever
 * glibc it was built on. glibc 2.34 moved the pthread functions into libc
 * under new version nodes; the old nodes are the same code, kept for binaries
 * like this one. Included into every cgo file by CGO_CFLAGS="-include ..."
 * (Makefile, CMakeLists.txt, bindings/python/setup.py); `make check-glibc`
 * fails if any symbol needs a newer glibc than 2.28.
 */
/* No #include here: this header comes before the file's own _GNU_SOURCE, and
 * including <features.h> first would lose it. glibc is told by a header only
 * it has; .S files (also given CGO_CFLAGS) get nothing. */
#if defined(__x86_64__) && defined(__linux__) && !defined(__ASSEMBLER__) && defined(__has_include)
#if __has_include(<gnu/libc-version.h>)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_key_create,pthread_key_create@GLIBC_2.2.5");
__asm__(".symver pthread_setspecific,pthread_setspecific@GLIBC_2.2.5");
__asm__(".symver pthread_attr_getstack,pthread_attr_getstack@GLIBC_2.2.5");
__asm__(".symver pthread_attr_getstacksize,pthread_attr_getstacksize@GLIBC_2.2.5");
__asm__(".symver pthread_getattr_np,pthread_getattr_np@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
#endif
#endif
