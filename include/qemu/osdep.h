/*
 * osdep.h: the first include of every .c file in qblock.
 *
 * It pulls in the system headers nearly every file needs, GLib, and the
 * small arithmetic and annotation macros the rest of the tree is written
 * with.  Headers never include it themselves; a .c file includes it first,
 * so every header may assume it has been seen.
 */
#ifndef QBLOCK_QEMU_OSDEP_H
#define QBLOCK_QEMU_OSDEP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "qemu/typedefs.h"

/*
 * Marks a function that may yield: it must be called from coroutine
 * context, and only a coroutine_fn may call it.  The marker is empty for
 * the compiler; it is documentation that a reviewer (and a future static
 * checker) relies on.
 */
#define coroutine_fn

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef MIN
#define MIN(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) (((a) > (b)) ? (a) : (b))
#endif

/* MIN of two values where 0 means "no limit" for either of them. */
#define MIN_NON_ZERO(a, b) \
    ((a) == 0 ? (b) : ((b) == 0 ? (a) : MIN(a, b)))

/* Round @n down / up to a multiple of @m; @m need not be a power of 2. */
#define QEMU_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m)   QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define IS_ALIGNED(n, m)      QEMU_IS_ALIGNED(n, m)

/* Round @n up to a multiple of @d, which must be a power of 2. */
#ifndef ROUND_UP
#define ROUND_UP(n, d) ((((n) - 1) | ((__typeof__(n))(d) - 1)) + 1)
#endif

#ifndef DIV_ROUND_UP
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define QEMU_BUILD_BUG_ON(x) _Static_assert(!(x), "not expecting: " #x)

#define QEMU_PACKED         __attribute__((packed))
#define QEMU_NORETURN       __attribute__((noreturn))
#define QEMU_ALWAYS_INLINE  __attribute__((always_inline))
#define QEMU_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define G_GNUC_PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)
#define TiB (INT64_C(1) << 40)

#define NANOSECONDS_PER_SECOND 1000000000LL

/* True if @x is a power of two (0 is not). */
static inline bool is_power_of_2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Round @x up to the next power of two; @x must be at most 2^63. */
static inline uint64_t pow2ceil(uint64_t x)
{
    if (x <= 1) {
        return 1;
    }
    return UINT64_C(1) << (64 - __builtin_clzll(x - 1));
}

/* Largest power of two that is at most @x; 0 for 0. */
static inline uint64_t pow2floor(uint64_t x)
{
    if (!x) {
        return 0;
    }
    return UINT64_C(1) << (63 - __builtin_clzll(x));
}

/* Count leading/trailing zeros with a defined result for 0. */
static inline int clz64(uint64_t v)
{
    return v ? __builtin_clzll(v) : 64;
}

static inline int ctz64(uint64_t v)
{
    return v ? __builtin_ctzll(v) : 64;
}

static inline int ctpop64(uint64_t v)
{
    return __builtin_popcountll(v);
}

/*
 * Retry a system call interrupted by a signal:
 *     RETRY_ON_EINTR(ret = read(fd, buf, len));
 */
#define RETRY_ON_EINTR(expr) \
    do { } while ((expr) < 0 && errno == EINTR)

/* Host page size, cached on first use. */
size_t qemu_real_host_page_size(void);

#endif /* QBLOCK_QEMU_OSDEP_H */
