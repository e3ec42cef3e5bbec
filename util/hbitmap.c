/*
 * hbitmap.c: hierarchical bitmap.
 *
 * What it is
 * ----------
 * An HBitmap is a flat array of bits (the "bit level") with a stack of
 * summary bitmaps on top that make "where is the next set bit?" cheap even
 * when set bits are few and far apart.  The dirty bitmaps of the block
 * layer are HBitmaps: a guest write sets the bits of the range it touched,
 * and the mirror job walks the set bits, copying and clearing as it goes.
 *
 * One bit stands for a granule of 2^granularity items, so a 1 TiB disk
 * tracked at 64 KiB needs 2^24 bits (2 MiB), not 2^40.
 *
 * Levels
 * ------
 * There are HBITMAP_LEVELS (12) levels, each an array of 64-bit words.
 * Level 11, the bottom, is the bit level: bit b of the bitmap is bit
 * b % 64 of word b / 64.  Above it, level L has one bit per word of level
 * L + 1: bit w of level L says whether word w of level L + 1 is non-zero.
 * So moving up a level divides an index by 64 and moving down multiplies
 * it by 64 and adds the position of a set bit.  With 12 levels even 2^63
 * bits fold into one word at level 0; a small bitmap simply has one-word
 * levels at the top, which searches walk through only when they run out
 * of bits altogether.
 *
 * Level 0 is a single word, and its top bit (bit 63) is a sentinel that is
 * always set.  No real word ever maps to it (level 1 is always one word,
 * so level 0 only ever uses bit 0 besides), so a search that climbs to the
 * top always finds a set bit and needs no "did I run off the top?" test in
 * its loop: finding the sentinel means the search is over.
 *
 * Invariants
 * ----------
 *   I1. For every level L < 11: bit w of level L is set iff word w of
 *       level L + 1 is non-zero (bit 63 of level 0 excepted: always set).
 *   I2. Bits at or past hb->size on the bit level are clear, and so are
 *       the bits of any level that stand for words past the end.
 *   I3. hb->count is the number of set bits on the bit level.
 * Every operation restores all three before returning, except the
 * deserialization calls, which leave I1 and I3 to the closing
 * hbitmap_deserialize_finish().
 *
 * Costs
 * -----
 * n is the number of bits in a range, N the number in the bitmap.
 *   set, reset      O(n/64 + levels): a word at a time on the bit level,
 *                   then n/4096 words on the level above, and so on; an
 *                   update stops climbing as soon as no word changed
 *                   between zero and non-zero.
 *   get, count      O(1); count is kept up to date by set and reset.
 *   iter_next,      O(1) while the next set bit is in the current word;
 *   next_dirty      otherwise climb k levels and come back down, where
 *                   64^k is about the gap skipped.  A full walk is
 *                   O(set words + levels), not O(N).
 *   next_zero       O(distance / 64): the summaries say "some bit set",
 *                   never "all bits set", so they cannot help.
 *   reset_all, truncate, merge, deserialize_finish   O(N / 64).
 * Memory is N/8 bytes plus about 1/63 of that for the summaries.
 *
 * A worked example
 * ----------------
 * hbitmap_alloc(10000, 2): 2500 granules of 4 items, so the bit level
 * (level 11) has 40 words.  Level 10 has one word with 40 meaningful bits;
 * levels 9 down to 1 have one word using bit 0; level 0 holds bit 0 and
 * the sentinel.
 *
 * hbitmap_set(hb, 4100, 10) covers items 4100..4109, granules 1025..1027:
 * bits 1..3 of word 16 of level 11.  Word 16 was zero, so bit 16 of level
 * 10 is set.  Level 10's word 0 was zero too, so bit 0 of level 9 is set,
 * and so on up to level 0.  count goes from 0 to 3 (hbitmap_count() says
 * 12 items).
 *
 * An iterator from item 0 starts at granule 0.  Word 0 of level 11 has no
 * bit at or after bit 0, so it climbs: level 10 word 0, any bit after bit
 * 0?  Bit 16.  Down: word 16 of level 11, lowest bit 1, granule 1025;
 * hbitmap_iter_next() returns 1025 << 2 = 4100 and puts the cursor on
 * granule 1026.  The next two calls find bits 2 and 3 in the same word
 * (4104, 4108).  The fourth finds nothing after bit 3, climbs to level 10
 * (nothing after bit 16), level 9 (nothing after bit 0), ..., and at level
 * 0 finds the sentinel: -1.
 *
 * hbitmap_reset(hb, 4100, 4) then clears bit 1 of word 16.  The word is
 * still non-zero, so nothing above changes.  hbitmap_reset(hb, 4104, 8)
 * clears bits 2..3; the word becomes zero, so bit 16 of level 10 is
 * cleared, that word becomes zero too, and so on: the clearing climbs all
 * the way, and level 0 is left with only the sentinel.
 *
 * Iterators
 * ---------
 * An HBitmapIter is only a cursor (the next granule to look at).  Each
 * hbitmap_iter_next() is a fresh search from the cursor through the live
 * levels, so an iterator never returns a bit that was reset before it got
 * there, and never misses a bit set ahead of it.  QEMU's iterator caches
 * one word per level instead and may miss bits set after its init; no
 * caller can rely on that miss, and the mirror, which resets bits as it
 * walks, is better served by the live view.
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"
#include "trace.h"

#define BOTTOM          (HBITMAP_LEVELS - 1)
#define WORD_BITS       64
#define ALL_ONES        (~UINT64_C(0))
#define SENTINEL        (UINT64_C(1) << 63)

/* "No such bit", returned by the internal searches. */
#define NONE            UINT64_MAX

QEMU_BUILD_BUG_ON(BITS_PER_LEVEL != 6);
QEMU_BUILD_BUG_ON(HBITMAP_LEVELS < 12);

struct HBitmap {
    /* Size in items, as the caller gave it. */
    uint64_t orig_size;
    /* Size in granules: the number of meaningful bits on the bit level. */
    uint64_t size;
    /* Set bits on the bit level (I3). */
    uint64_t count;
    int granularity;
    /* levels[0] is the top (one word), levels[BOTTOM] the bit level. */
    uint64_t *levels[HBITMAP_LEVELS];
    /* Allocated length of each level, in words (at least 1). */
    uint64_t words[HBITMAP_LEVELS];
};

/* Number of granules of 2^@gran items needed to cover @size items. */
static uint64_t hb_granules(uint64_t size, int gran)
{
    return (size >> gran) + ((size & ((UINT64_C(1) << gran) - 1)) != 0);
}

/* Words per level for @bits bits on the bit level. */
static void hb_level_words(uint64_t bits, uint64_t words[HBITMAP_LEVELS])
{
    int lvl;

    for (lvl = BOTTOM; lvl >= 0; lvl--) {
        bits = MAX(DIV_ROUND_UP(bits, WORD_BITS), 1);
        words[lvl] = bits;
    }
}

/*
 * The first set bit of level @home at or after @bit, or NONE.
 *
 * While the current word has nothing left, step up a level and look for a
 * set bit strictly after the exhausted word's own bit.  Once one is found,
 * walk back down taking the lowest set bit of each word: by I1 each of
 * those words is non-zero, and all of it lies past the cursor.
 */
static inline uint64_t hb_find_set(const HBitmap *hb, int home, uint64_t bit)
{
    int lvl = home;
    uint64_t cur;

    if ((bit >> BITS_PER_LEVEL) >= hb->words[lvl]) {
        return NONE;
    }
    cur = hb->levels[lvl][bit >> BITS_PER_LEVEL] & (ALL_ONES << (bit & 63));
    if (likely(cur)) {
        return (bit & ~UINT64_C(63)) + ctz64(cur);
    }
    do {
        bit >>= BITS_PER_LEVEL;
        lvl--;
        /* ~1 << b keeps the bits above b; it is 0 for b == 63. */
        cur = hb->levels[lvl][bit >> BITS_PER_LEVEL] &
              (~UINT64_C(1) << (bit & 63));
    } while (!cur);
    bit = (bit & ~UINT64_C(63)) + ctz64(cur);
    if (unlikely(lvl == 0) && bit == 63) {
        return NONE;
    }
    while (lvl < home) {
        lvl++;
        cur = hb->levels[lvl][bit];
        assert(cur);
        bit = (bit << BITS_PER_LEVEL) + ctz64(cur);
    }
    return bit;
}

/* The first clear bit of the bit level in [@bit, @end), or NONE. */
static uint64_t hb_find_zero(const HBitmap *hb, uint64_t bit, uint64_t end)
{
    const uint64_t *w = hb->levels[BOTTOM];
    uint64_t i = bit >> BITS_PER_LEVEL;
    uint64_t last = (end - 1) >> BITS_PER_LEVEL;
    uint64_t cur = ~w[i] & (ALL_ONES << (bit & 63));

    while (!cur) {
        if (++i > last) {
            return NONE;
        }
        cur = ~w[i];
    }
    bit = (i << BITS_PER_LEVEL) + ctz64(cur);
    return bit < end ? bit : NONE;
}

/*
 * Set bits [@first, @last] of one level.  Adds the number of bits that
 * were clear to *@added, and returns whether some word went from zero to
 * non-zero, which is when the level above needs its bits set too.
 */
static bool hb_level_set(uint64_t *w, uint64_t first, uint64_t last,
                         uint64_t *added)
{
    uint64_t i = first >> BITS_PER_LEVEL;
    uint64_t end = last >> BITS_PER_LEVEL;
    uint64_t mask = ALL_ONES << (first & 63);
    uint64_t last_mask = ALL_ONES >> (63 - (last & 63));
    uint64_t old;
    uint64_t n = 0;
    bool woke = false;

    if (i == end) {
        mask &= last_mask;
    } else {
        old = w[i];
        woke |= !old;
        n += ctpop64(mask & ~old);
        w[i] = old | mask;
        for (i++; i < end; i++) {
            old = w[i];
            if (!old) {
                woke = true;
                n += WORD_BITS;
            } else if (old != ALL_ONES) {
                n += WORD_BITS - ctpop64(old);
            }
            w[i] = ALL_ONES;
        }
        mask = last_mask;
    }
    old = w[i];
    woke |= !old;
    n += ctpop64(mask & ~old);
    w[i] = old | mask;
    *added += n;
    return woke;
}

/*
 * Clear bits [*@first, *@last] of one level and add the number that were
 * set to *@removed.  Returns whether the level above needs clearing: then
 * [*@first, *@last] is the range of its bits to clear, namely the words
 * of this level's range that are zero now.  Nothing is needed above if no
 * word went from non-zero to zero.
 */
static bool hb_level_reset(uint64_t *w, uint64_t *first, uint64_t *last,
                           uint64_t *removed)
{
    uint64_t fw = *first >> BITS_PER_LEVEL;
    uint64_t lw = *last >> BITS_PER_LEVEL;
    uint64_t mask = ALL_ONES << (*first & 63);
    uint64_t last_mask = ALL_ONES >> (63 - (*last & 63));
    uint64_t i = fw;
    uint64_t old;
    uint64_t n = 0;
    uint64_t lo;
    uint64_t hi_end;
    bool emptied = false;

    if (fw == lw) {
        mask &= last_mask;
    } else {
        old = w[i];
        n += ctpop64(old & mask);
        w[i] = old & ~mask;
        emptied |= old && !w[i];
        for (i++; i < lw; i++) {
            old = w[i];
            if (old) {
                emptied = true;
                n += old == ALL_ONES ? WORD_BITS : ctpop64(old);
                w[i] = 0;
            }
        }
        mask = last_mask;
    }
    old = w[i];
    n += ctpop64(old & mask);
    w[i] = old & ~mask;
    emptied |= old && !w[i];
    *removed += n;

    /* The edge words may keep bits outside the range: leave their bit. */
    lo = fw + (w[fw] != 0);
    hi_end = lw + 1 - (w[lw] != 0);
    if (!emptied || lo >= hi_end) {
        return false;
    }
    *first = lo;
    *last = hi_end - 1;
    return true;
}

/* Set bits [@first, @last] of level @lvl and the summaries above it. */
static void hb_set_bits(HBitmap *hb, int lvl, uint64_t first, uint64_t last)
{
    uint64_t added = 0;
    bool woke = hb_level_set(hb->levels[lvl], first, last, &added);

    if (lvl == BOTTOM) {
        hb->count += added;
    }
    while (woke && lvl > 0) {
        lvl--;
        first >>= BITS_PER_LEVEL;
        last >>= BITS_PER_LEVEL;
        woke = hb_level_set(hb->levels[lvl], first, last, &added);
    }
}

/* Clear bits [@first, @last] of the bit level and fix the summaries. */
static void hb_reset_bits(HBitmap *hb, uint64_t first, uint64_t last)
{
    uint64_t removed = 0;
    uint64_t ignored = 0;
    int lvl = BOTTOM;
    bool more = hb_level_reset(hb->levels[lvl], &first, &last, &removed);

    hb->count -= removed;
    while (more && lvl > 0) {
        lvl--;
        more = hb_level_reset(hb->levels[lvl], &first, &last, &ignored);
    }
}

HBitmap *hbitmap_alloc(uint64_t size, int granularity)
{
    HBitmap *hb = g_new0(HBitmap, 1);
    int lvl;

    assert(granularity >= 0 && granularity < 64);
    assert(size <= INT64_MAX);
    hb->orig_size = size;
    hb->granularity = granularity;
    hb->size = hb_granules(size, granularity);
    hb_level_words(hb->size, hb->words);
    /* Level 0 must keep bit 63 for the sentinel. */
    assert(hb->words[0] == 1 && hb->words[1] < 63);
    for (lvl = 0; lvl < HBITMAP_LEVELS; lvl++) {
        hb->levels[lvl] = g_new0(uint64_t, hb->words[lvl]);
    }
    hb->levels[0][0] = SENTINEL;
    trace_hbitmap_alloc(hb, size, granularity);
    return hb;
}

void hbitmap_free(HBitmap *hb)
{
    int lvl;

    if (!hb) {
        return;
    }
    for (lvl = 0; lvl < HBITMAP_LEVELS; lvl++) {
        g_free(hb->levels[lvl]);
    }
    g_free(hb);
}

void hbitmap_truncate(HBitmap *hb, uint64_t size)
{
    uint64_t old_words[HBITMAP_LEVELS];
    uint64_t bits = hb_granules(size, hb->granularity);
    int lvl;

    assert(size <= INT64_MAX);
    trace_hbitmap_truncate(hb, hb->orig_size, size);
    if (bits < hb->size) {
        /* Clear what falls off first, so that I1 and I2 hold afterwards. */
        hb_reset_bits(hb, bits, hb->size - 1);
    }
    memcpy(old_words, hb->words, sizeof(old_words));
    hb->orig_size = size;
    hb->size = bits;
    hb_level_words(bits, hb->words);
    for (lvl = 0; lvl < HBITMAP_LEVELS; lvl++) {
        if (hb->words[lvl] == old_words[lvl]) {
            continue;
        }
        hb->levels[lvl] = g_renew(uint64_t, hb->levels[lvl], hb->words[lvl]);
        if (hb->words[lvl] > old_words[lvl]) {
            memset(hb->levels[lvl] + old_words[lvl], 0,
                   (hb->words[lvl] - old_words[lvl]) * sizeof(uint64_t));
        }
    }
}

int hbitmap_granularity(const HBitmap *hb)
{
    return hb->granularity;
}

uint64_t hbitmap_size(const HBitmap *hb)
{
    return hb->orig_size;
}

void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count)
{
    uint64_t first;
    uint64_t last;

    if (!count) {
        return;
    }
    assert(start + count - 1 >= start);
    first = start >> hb->granularity;
    last = (start + count - 1) >> hb->granularity;
    trace_hbitmap_set(hb, start, count, first, last);
    assert(last < hb->size);
    hb_set_bits(hb, BOTTOM, first, last);
}

void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count)
{
    uint64_t gran_mask = (UINT64_C(1) << hb->granularity) - 1;
    uint64_t first;
    uint64_t last;

    if (!count) {
        return;
    }
    /* Only whole granules can be cleared; see hbitmap.h. */
    assert(!(start & gran_mask));
    assert(!(count & gran_mask) || start + count == hb->orig_size);
    assert(start + count - 1 >= start);
    first = start >> hb->granularity;
    last = (start + count - 1) >> hb->granularity;
    trace_hbitmap_reset(hb, start, count, first, last);
    assert(last < hb->size);
    hb_reset_bits(hb, first, last);
}

void hbitmap_reset_all(HBitmap *hb)
{
    int lvl;

    trace_hbitmap_reset_all(hb, hb->count);
    for (lvl = 0; lvl < HBITMAP_LEVELS; lvl++) {
        memset(hb->levels[lvl], 0, hb->words[lvl] * sizeof(uint64_t));
    }
    hb->levels[0][0] = SENTINEL;
    hb->count = 0;
}

bool hbitmap_get(const HBitmap *hb, uint64_t item)
{
    uint64_t bit = item >> hb->granularity;

    assert(bit < hb->size);
    return (hb->levels[BOTTOM][bit >> BITS_PER_LEVEL] >> (bit & 63)) & 1;
}

uint64_t hbitmap_count(const HBitmap *hb)
{
    return hb->count << hb->granularity;
}

bool hbitmap_is_empty(const HBitmap *hb)
{
    return hb->count == 0;
}

bool hbitmap_empty(const HBitmap *hb)
{
    return hb->count == 0;
}

void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first)
{
    hbi->hb = hb;
    hbi->granularity = hb->granularity;
    hbi->pos = first >> hb->granularity;
}

int64_t hbitmap_iter_next(HBitmapIter *hbi)
{
    uint64_t bit = hb_find_set(hbi->hb, BOTTOM, hbi->pos);

    if (bit == NONE) {
        return -1;
    }
    hbi->pos = bit + 1;
    return bit << hbi->granularity;
}

int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end;
    uint64_t bit;
    uint64_t item;

    assert(start >= 0 && count >= 0);
    if (start >= hb->orig_size || !count) {
        return -1;
    }
    end = count > hb->orig_size - start ? hb->orig_size : start + count;
    bit = hb_find_set(hb, BOTTOM, (uint64_t)start >> hb->granularity);
    if (bit == NONE) {
        return -1;
    }
    item = bit << hb->granularity;
    if (item >= end) {
        return -1;
    }
    return MAX(start, (int64_t)item);
}

int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end_bit;
    uint64_t bit;

    assert(start >= 0 && count >= 0);
    if (start >= hb->orig_size || !count) {
        return -1;
    }
    if (count > hb->orig_size - start) {
        end_bit = hb->size;
    } else {
        end_bit = ((start + count - 1) >> hb->granularity) + 1;
    }
    bit = hb_find_zero(hb, (uint64_t)start >> hb->granularity, end_bit);
    if (bit == NONE) {
        return -1;
    }
    return MAX(start, (int64_t)(bit << hb->granularity));
}

bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count)
{
    int64_t next_zero;

    assert(start >= 0 && end >= 0 && max_dirty_count > 0);
    end = MIN(end, (int64_t)hb->orig_size);
    if (start >= end) {
        return false;
    }
    start = hbitmap_next_dirty(hb, start, end - start);
    if (start < 0) {
        return false;
    }
    end = start + MIN(end - start, max_dirty_count);
    next_zero = hbitmap_next_zero(hb, start, end - start);
    if (next_zero >= 0) {
        end = next_zero;
    }
    *dirty_start = start;
    *dirty_count = end - start;
    return true;
}

bool hbitmap_status(const HBitmap *hb, int64_t start, int64_t count,
                    int64_t *pnum)
{
    int64_t next;

    assert(start >= 0 && count > 0);
    assert(start + count <= hb->orig_size);

    next = hbitmap_next_dirty(hb, start, count);
    if (next != start) {
        /* Clear up to the next set item, or through the whole range. */
        *pnum = next < 0 ? count : next - start;
        return false;
    }
    next = hbitmap_next_zero(hb, start, count);
    *pnum = next < 0 ? count : next - start;
    return true;
}

bool hbitmap_can_merge(const HBitmap *a, const HBitmap *b)
{
    return a->orig_size == b->orig_size;
}

/* Make @dst's bits, count and summaries those of @src (same geometry). */
static void hb_copy_bits(HBitmap *dst, const HBitmap *src)
{
    int lvl;

    assert(dst->size == src->size && dst->granularity == src->granularity);
    for (lvl = 0; lvl < HBITMAP_LEVELS; lvl++) {
        memcpy(dst->levels[lvl], src->levels[lvl],
               src->words[lvl] * sizeof(uint64_t));
    }
    dst->count = src->count;
}

/* @dst |= @src, for two bitmaps of the same size. */
static void hb_merge_into(HBitmap *dst, const HBitmap *src)
{
    const uint64_t *sw = src->levels[BOTTOM];
    uint64_t *dw = dst->levels[BOTTOM];
    uint64_t w;
    uint64_t old;
    int64_t off;
    int64_t len;

    if (dst == src || !src->count) {
        return;
    }
    if (dst->granularity != src->granularity) {
        /* Set runs take care of rounding to @dst's granules. */
        off = 0;
        while (hbitmap_next_dirty_area(src, off, src->orig_size, INT64_MAX,
                                       &off, &len)) {
            hbitmap_set(dst, off, len);
            off += len;
        }
        return;
    }
    /*
     * Same geometry: OR in the non-zero words of @src, which the level
     * above @src's bit level lists, and wake the summaries of the words of
     * @dst that were zero.
     */
    for (w = hb_find_set(src, BOTTOM - 1, 0); w != NONE;
         w = hb_find_set(src, BOTTOM - 1, w + 1)) {
        old = dw[w];
        if ((old | sw[w]) == old) {
            continue;
        }
        dst->count += ctpop64(sw[w] & ~old);
        dw[w] = old | sw[w];
        if (!old) {
            hb_set_bits(dst, BOTTOM - 1, w, w);
        }
    }
}

void hbitmap_merge(const HBitmap *a, const HBitmap *b, HBitmap *result)
{
    assert(hbitmap_can_merge(a, b));
    assert(hbitmap_can_merge(a, result));
    trace_hbitmap_merge(a, b, result);

    if (result == b) {
        hb_merge_into(result, a);
        return;
    }
    if (result != a) {
        if (a->granularity == result->granularity) {
            hb_copy_bits(result, a);
        } else {
            hbitmap_reset_all(result);
            hb_merge_into(result, a);
        }
    }
    hb_merge_into(result, b);
}

HBitmap *hbitmap_copy(const HBitmap *hb)
{
    HBitmap *copy = hbitmap_alloc(hb->orig_size, hb->granularity);

    hb_copy_bits(copy, hb);
    return copy;
}

uint64_t hbitmap_serialization_align(const HBitmap *hb)
{
    /* A part is whole words, so that it is the same on every host. */
    assert(hb->granularity < 64 - BITS_PER_LEVEL);
    return UINT64_C(64) << hb->granularity;
}

/*
 * The words of the bit level that the part [@start, @start + @count)
 * covers, after checking the alignment rules of hbitmap.h.
 */
static void hb_serial_words(const HBitmap *hb, uint64_t start,
                            uint64_t count, uint64_t *first_word,
                            uint64_t *nwords)
{
    uint64_t align = hbitmap_serialization_align(hb);
    uint64_t last_bit;

    assert(count && start + count - 1 >= start);
    assert(!(start & (align - 1)));
    last_bit = (start + count - 1) >> hb->granularity;
    assert(last_bit < hb->size);
    if (last_bit != hb->size - 1) {
        assert(!(count & (align - 1)));
    }
    *first_word = (start >> hb->granularity) >> BITS_PER_LEVEL;
    *nwords = (last_bit >> BITS_PER_LEVEL) - *first_word + 1;
}

/* Clear the bits past the end in the last word of the bit level (I2). */
static void hb_clear_tail(HBitmap *hb)
{
    if (hb->size % WORD_BITS) {
        hb->levels[BOTTOM][hb->words[BOTTOM] - 1] &=
            ALL_ONES >> (WORD_BITS - hb->size % WORD_BITS);
    }
}

uint64_t hbitmap_serialization_size(const HBitmap *hb,
                                    uint64_t start, uint64_t count)
{
    uint64_t first;
    uint64_t n;

    if (!count) {
        return 0;
    }
    hb_serial_words(hb, start, count, &first, &n);
    return n * sizeof(uint64_t);
}

void hbitmap_serialize_part(const HBitmap *hb, uint8_t *buf,
                            uint64_t start, uint64_t count)
{
    const uint64_t *w = hb->levels[BOTTOM];
    uint64_t first;
    uint64_t n;
    uint64_t i;
    uint64_t le;

    if (!count) {
        return;
    }
    hb_serial_words(hb, start, count, &first, &n);
    for (i = 0; i < n; i++) {
        le = GUINT64_TO_LE(w[first + i]);
        memcpy(buf + i * sizeof(le), &le, sizeof(le));
    }
}

void hbitmap_deserialize_part(HBitmap *hb, uint8_t *buf,
                              uint64_t start, uint64_t count, bool finish)
{
    uint64_t *w = hb->levels[BOTTOM];
    uint64_t first;
    uint64_t n;
    uint64_t i;
    uint64_t le;

    if (count) {
        hb_serial_words(hb, start, count, &first, &n);
        for (i = 0; i < n; i++) {
            memcpy(&le, buf + i * sizeof(le), sizeof(le));
            w[first + i] = GUINT64_FROM_LE(le);
        }
        hb_clear_tail(hb);
    }
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_zeroes(HBitmap *hb, uint64_t start,
                                uint64_t count, bool finish)
{
    uint64_t first;
    uint64_t n;

    if (count) {
        hb_serial_words(hb, start, count, &first, &n);
        memset(hb->levels[BOTTOM] + first, 0, n * sizeof(uint64_t));
    }
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_ones(HBitmap *hb, uint64_t start, uint64_t count,
                              bool finish)
{
    uint64_t first;
    uint64_t n;

    if (count) {
        hb_serial_words(hb, start, count, &first, &n);
        memset(hb->levels[BOTTOM] + first, 0xff, n * sizeof(uint64_t));
        hb_clear_tail(hb);
    }
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_finish(HBitmap *hb)
{
    const uint64_t *bits = hb->levels[BOTTOM];
    uint64_t n = 0;
    uint64_t i;
    int lvl;

    /* Bottom up, so that each level is rebuilt from a correct one. */
    for (lvl = BOTTOM - 1; lvl >= 0; lvl--) {
        uint64_t *up = hb->levels[lvl];
        const uint64_t *down = hb->levels[lvl + 1];

        memset(up, 0, hb->words[lvl] * sizeof(uint64_t));
        for (i = 0; i < hb->words[lvl + 1]; i++) {
            if (down[i]) {
                up[i >> BITS_PER_LEVEL] |= UINT64_C(1) << (i & 63);
            }
        }
    }
    hb->levels[0][0] |= SENTINEL;
    for (i = 0; i < hb->words[BOTTOM]; i++) {
        n += ctpop64(bits[i]);
    }
    hb->count = n;
    trace_hbitmap_deserialize_finish(hb, n);
}
