/*
 * bitmap.h: flat bitmaps of a known length, and whole-range operations.
 *
 * A bitmap of @nbits bits is an array of BITS_TO_LONGS(@nbits) unsigned
 * longs laid out as in bitops.h.  Functions that produce a bitmap
 * (bitmap_fill, bitmap_and, ...) leave the bits past @nbits in the last
 * word as the operation makes them; functions that read one (bitmap_empty,
 * bitmap_equal, bitmap_count_one, ...) ignore those bits.  Range functions
 * work a word at a time, so their cost is O(@len / BITS_PER_LONG).
 *
 * Lengths and positions are longs, as in QEMU; none may be negative.
 * Nothing here is atomic except the two *_atomic functions, which may race
 * with each other and with set_bit_atomic()/clear_bit_atomic().
 *
 * Memory comes from GLib: free a bitmap_new() result with g_free().
 */
#ifndef QBLOCK_QEMU_BITMAP_H
#define QBLOCK_QEMU_BITMAP_H

#include "qemu/bitops.h"

#define DECLARE_BITMAP(name, bits) \
    unsigned long name[BITS_TO_LONGS(bits)]

/* A zeroed bitmap of @nbits bits (NULL for 0 bits); aborts on OOM. */
static inline unsigned long *bitmap_new(long nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

/* As bitmap_new(), but returns NULL when memory is short. */
static inline unsigned long *bitmap_try_new(long nbits)
{
    return g_try_new0(unsigned long, BITS_TO_LONGS(nbits));
}

static inline void bitmap_zero(unsigned long *dst, long nbits)
{
    memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* Set bits [0, @nbits); the rest of the last word is cleared. */
static inline void bitmap_fill(unsigned long *dst, long nbits)
{
    long full = nbits / BITS_PER_LONG;

    memset(dst, 0xff, full * sizeof(unsigned long));
    if (nbits % BITS_PER_LONG) {
        dst[full] = BITMAP_LAST_WORD_MASK(nbits);
    }
}

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
                               long nbits)
{
    memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/*
 * Resize a bitmap_new() bitmap from @old_nbits to @new_nbits bits; bits
 * past @old_nbits are zero afterwards.  Returns the (possibly moved) map.
 */
unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits);

/* Set or clear the @len bits starting at @start. */
void bitmap_set(unsigned long *map, long start, long len);
void bitmap_clear(unsigned long *map, long start, long len);

/*
 * Atomically set the @len bits at @start; a full barrier follows, so a
 * reader that then sees the bits also sees stores made before the call.
 */
void bitmap_set_atomic(unsigned long *map, long start, long len);

/*
 * Atomically clear the @len bits at @start and return whether any of them
 * was set.  A bit set concurrently is either reported here or left set.
 */
bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long len);

/* Predicates on bits [0, @nbits). */
bool bitmap_empty(const unsigned long *src, long nbits);
bool bitmap_full(const unsigned long *src, long nbits);
bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  long nbits);
bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       long nbits);

/* Number of set bits in [0, @nbits), and in [@offset, @offset + @nbits). */
long bitmap_count_one(const unsigned long *map, long nbits);
long bitmap_count_one_with_offset(const unsigned long *map, long offset,
                                  long nbits);

/*
 * dst = src1 op src2 over BITS_TO_LONGS(@nbits) words; @dst may be one of
 * the sources.  bitmap_and() and bitmap_andnot() (src1 & ~src2) return
 * whether the result has a bit set below @nbits.
 */
bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits);
void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits);
void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits);
bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, long nbits);
void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits);

/*
 * Find @nr consecutive clear bits in [@start, @size) whose first index is
 * a multiple of @align_mask + 1 (@align_mask is 2^k - 1).  Returns that
 * index, or a value greater than @size if there is no such run.
 */
unsigned long bitmap_find_next_zero_area(const unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask);

#endif /* QBLOCK_QEMU_BITMAP_H */
