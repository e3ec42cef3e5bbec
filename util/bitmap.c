/*
 * bitmap.c: the out-of-line part of bitops.h and bitmap.h.
 *
 * Every loop here walks whole words.  A range [start, start + len) touches
 * a first word under BITMAP_FIRST_WORD_MASK(start), full words in between,
 * and a last word under BITMAP_LAST_WORD_MASK(start + len); when the range
 * sits inside one word the two masks are combined.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset)
{
    unsigned long idx;
    unsigned long word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    word = addr[idx] & BITMAP_FIRST_WORD_MASK(offset);
    while (!word) {
        idx++;
        if (idx * BITS_PER_LONG >= size) {
            return size;
        }
        word = addr[idx];
    }
    /* The last word may hold junk past @size. */
    return MIN(size, idx * BITS_PER_LONG + ctzl(word));
}

unsigned long find_next_zero_bit(const unsigned long *addr,
                                 unsigned long size, unsigned long offset)
{
    unsigned long idx;
    unsigned long word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    word = ~addr[idx] & BITMAP_FIRST_WORD_MASK(offset);
    while (!word) {
        idx++;
        if (idx * BITS_PER_LONG >= size) {
            return size;
        }
        word = ~addr[idx];
    }
    return MIN(size, idx * BITS_PER_LONG + ctzl(word));
}

unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
    unsigned long idx;
    unsigned long word;

    if (!size) {
        return size;
    }
    idx = BIT_WORD(size - 1);
    word = addr[idx] & BITMAP_LAST_WORD_MASK(size);
    for (;;) {
        if (word) {
            return idx * BITS_PER_LONG + (BITS_PER_LONG - 1 - clzl(word));
        }
        if (!idx) {
            return size;
        }
        word = addr[--idx];
    }
}

unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits)
{
    long new_len = BITS_TO_LONGS(new_nbits);
    unsigned long *map = g_renew(unsigned long, old, new_len);

    if (new_nbits > old_nbits) {
        bitmap_clear(map, old_nbits, new_nbits - old_nbits);
    }
    return map;
}

void bitmap_set(unsigned long *map, long start, long len)
{
    unsigned long *p = map + BIT_WORD(start);
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    long end = start + len;
    long left = BITS_PER_LONG - start % BITS_PER_LONG;

    assert(start >= 0 && len >= 0);
    if (!len) {
        return;
    }
    while (len >= left) {
        *p++ |= mask;
        len -= left;
        left = BITS_PER_LONG;
        mask = ~0UL;
    }
    if (len) {
        *p |= mask & BITMAP_LAST_WORD_MASK(end);
    }
}

void bitmap_clear(unsigned long *map, long start, long len)
{
    unsigned long *p = map + BIT_WORD(start);
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    long end = start + len;
    long left = BITS_PER_LONG - start % BITS_PER_LONG;

    assert(start >= 0 && len >= 0);
    if (!len) {
        return;
    }
    while (len >= left) {
        *p++ &= ~mask;
        len -= left;
        left = BITS_PER_LONG;
        mask = ~0UL;
    }
    if (len) {
        *p &= ~(mask & BITMAP_LAST_WORD_MASK(end));
    }
}

void bitmap_set_atomic(unsigned long *map, long start, long len)
{
    unsigned long *p = map + BIT_WORD(start);
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    long end = start + len;
    long left = BITS_PER_LONG - start % BITS_PER_LONG;

    assert(start >= 0 && len >= 0);
    if (!len) {
        return;
    }
    while (len >= left) {
        if (mask == ~0UL) {
            /* Every bit ends up set whatever others do: a store will do. */
            __atomic_store_n(p, ~0UL, __ATOMIC_RELAXED);
        } else {
            __atomic_fetch_or(p, mask, __ATOMIC_RELAXED);
        }
        p++;
        len -= left;
        left = BITS_PER_LONG;
        mask = ~0UL;
    }
    if (len) {
        __atomic_fetch_or(p, mask & BITMAP_LAST_WORD_MASK(end),
                          __ATOMIC_RELAXED);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long len)
{
    unsigned long *p = map + BIT_WORD(start);
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    unsigned long dirty = 0;
    long end = start + len;
    long left = BITS_PER_LONG - start % BITS_PER_LONG;

    assert(start >= 0 && len >= 0);
    if (!len) {
        return false;
    }
    while (len >= left) {
        if (mask == ~0UL) {
            /* Skip the locked operation on a word that is already clear. */
            if (__atomic_load_n(p, __ATOMIC_RELAXED)) {
                dirty |= __atomic_exchange_n(p, 0, __ATOMIC_SEQ_CST);
            }
        } else {
            dirty |= __atomic_fetch_and(p, ~mask, __ATOMIC_SEQ_CST) & mask;
        }
        p++;
        len -= left;
        left = BITS_PER_LONG;
        mask = ~0UL;
    }
    if (len) {
        mask &= BITMAP_LAST_WORD_MASK(end);
        dirty |= __atomic_fetch_and(p, ~mask, __ATOMIC_SEQ_CST) & mask;
    }
    /* Order the clear before whatever the caller does with the data. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return dirty != 0;
}

bool bitmap_empty(const unsigned long *src, long nbits)
{
    long full = nbits / BITS_PER_LONG;
    long i;

    for (i = 0; i < full; i++) {
        if (src[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !(src[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

bool bitmap_full(const unsigned long *src, long nbits)
{
    long full = nbits / BITS_PER_LONG;
    long i;

    for (i = 0; i < full; i++) {
        if (~src[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !(~src[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  long nbits)
{
    long full = nbits / BITS_PER_LONG;
    long i;

    for (i = 0; i < full; i++) {
        if (src1[i] != src2[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !((src1[full] ^ src2[full]) & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       long nbits)
{
    long full = nbits / BITS_PER_LONG;
    long i;

    for (i = 0; i < full; i++) {
        if (src1[i] & src2[i]) {
            return true;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return (src1[full] & src2[full] & BITMAP_LAST_WORD_MASK(nbits)) != 0;
    }
    return false;
}

long bitmap_count_one(const unsigned long *map, long nbits)
{
    long full = nbits / BITS_PER_LONG;
    long n = 0;
    long i;

    for (i = 0; i < full; i++) {
        n += ctpopl(map[i]);
    }
    if (nbits % BITS_PER_LONG) {
        n += ctpopl(map[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return n;
}

long bitmap_count_one_with_offset(const unsigned long *map, long offset,
                                  long nbits)
{
    long skip = offset % BITS_PER_LONG;
    long n;

    assert(offset >= 0 && nbits >= 0);
    if (!nbits) {
        return 0;
    }
    /*
     * Count from the start of the first word, then take back the bits
     * before @offset in it.
     */
    map += BIT_WORD(offset);
    n = bitmap_count_one(map, skip + nbits);
    if (skip) {
        n -= ctpopl(map[0] & ~BITMAP_FIRST_WORD_MASK(skip));
    }
    return n;
}

bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits)
{
    long n = BITS_TO_LONGS(nbits);
    long i;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & src2[i];
    }
    return !bitmap_empty(dst, nbits);
}

void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits)
{
    long n = BITS_TO_LONGS(nbits);
    long i;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] | src2[i];
    }
}

void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits)
{
    long n = BITS_TO_LONGS(nbits);
    long i;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] ^ src2[i];
    }
}

bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, long nbits)
{
    long n = BITS_TO_LONGS(nbits);
    long i;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & ~src2[i];
    }
    return !bitmap_empty(dst, nbits);
}

void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits)
{
    long n = BITS_TO_LONGS(nbits);
    long i;

    for (i = 0; i < n; i++) {
        dst[i] = ~src[i];
    }
}

unsigned long bitmap_find_next_zero_area(const unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask)
{
    unsigned long index;
    unsigned long end;
    unsigned long busy;

    for (;;) {
        index = find_next_zero_bit(map, size, start);
        index = (index + align_mask) & ~align_mask;
        end = index + nr;
        if (end > size) {
            /* No room left; an end past @size tells the caller so. */
            return end;
        }
        busy = find_next_bit(map, end, index);
        if (busy >= end) {
            return index;
        }
        /* A set bit inside the candidate: retry past it. */
        start = busy + 1;
    }
}
