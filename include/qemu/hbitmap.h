/*
 * hbitmap.h: hierarchical bitmap, the store behind dirty bitmaps.
 *
 * An HBitmap tracks which of @size "items" (bytes or sectors, to the
 * caller) are set.  One bit covers 2^granularity consecutive items, a
 * "granule": setting any item of a granule sets the whole granule, and
 * queries answer in whole granules (clipped to the bitmap's size).  Above
 * the bits sit summary levels that let searches skip clear regions 64,
 * 4096, 262144, ... bits at a time; see util/hbitmap.c for the layout and
 * the costs.
 *
 * Item positions are uint64_t (int64_t where -1 means "none") and stay
 * below 2^63.  The whole bitmap is held in memory: one bit per granule.
 *
 * Threads: an HBitmap has no lock.  The caller makes sure that one thread
 * at a time calls into a given bitmap (dirty bitmaps hold their own mutex).
 *
 * Names and contracts follow QEMU's util/hbitmap.c, so that code written
 * against QEMU's block layer can call this one unchanged.
 */
#ifndef QBLOCK_QEMU_HBITMAP_H
#define QBLOCK_QEMU_HBITMAP_H

/* Each level is an array of 64-bit words; a word has 2^6 bits. */
#define BITS_PER_LEVEL          6

/*
 * Enough levels that 2^63 bits still collapse to one top word, plus one so
 * that the top word has a free bit for the sentinel.  Levels that a small
 * bitmap does not need are one word each and cost nothing to walk past.
 */
#define HBITMAP_LEVELS          ((64 + BITS_PER_LEVEL - 1) / BITS_PER_LEVEL + 1)

/*
 * An iterator is a cursor over one bitmap; it is a plain value that the
 * caller declares (usually on the stack) and never frees.  Its fields are
 * private to hbitmap.c.
 */
struct HBitmapIter {
    const HBitmap *hb;
    /* Next granule (bottom-level bit) to look at. */
    uint64_t pos;
    int granularity;
};

/*
 * Allocate a bitmap of @size items, all clear, in which one bit covers
 * 2^@granularity items (0 <= @granularity < 64).  @size may be 0 and is
 * at most INT64_MAX.  Never fails; aborts when memory is short.
 */
HBitmap *hbitmap_alloc(uint64_t size, int granularity);

/* Free @hb; NULL is accepted. */
void hbitmap_free(HBitmap *hb);

/*
 * Resize @hb to @size items, keeping its granularity and the bits of the
 * granules that still exist.  Shrinking clears every granule that now
 * starts at or past @size (the granule holding the new end keeps its bit);
 * growing adds clear granules.  Iterators stay valid: they carry on from
 * their cursor within the new size.
 */
void hbitmap_truncate(HBitmap *hb, uint64_t size);

/* log2 of the number of items one bit covers. */
int hbitmap_granularity(const HBitmap *hb);

/* The size given to hbitmap_alloc() or the last hbitmap_truncate(). */
uint64_t hbitmap_size(const HBitmap *hb);

/*
 * Set the items [@start, @start + @count), rounding outward to whole
 * granules.  The last granule touched must exist: (@start + @count - 1)
 * >> granularity must be below the number of granules.  @count 0 is a
 * no-op.  O(@count / 2^granularity / 64 + levels).
 */
void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count);

/*
 * Clear the items [@start, @start + @count).  A bit cannot be half
 * cleared, so the range must be whole granules: @start must be a multiple
 * of 2^granularity, and so must @count unless the range reaches the end of
 * the bitmap (@start + @count == size), where the last, partial granule is
 * cleared whole.  Both are assert()ed.  @count 0 is a no-op.
 */
void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count);

/* Clear every bit.  O(size / 2^granularity / 64). */
void hbitmap_reset_all(HBitmap *hb);

/* Whether the granule holding @item is set; @item must be below size. */
bool hbitmap_get(const HBitmap *hb, uint64_t item);

/*
 * Number of items in set granules, i.e. set bits << granularity.  A set
 * partial last granule counts whole, so this may exceed the size.  O(1).
 */
uint64_t hbitmap_count(const HBitmap *hb);

/* Whether no bit is set.  O(1).  hbitmap_empty() is QEMU's name. */
bool hbitmap_is_empty(const HBitmap *hb);
bool hbitmap_empty(const HBitmap *hb);

/*
 * Point @hbi at @hb, with its cursor on the granule holding @first.  @first
 * may be at or past the end, in which case the iterator is exhausted until
 * the bitmap grows.  O(1).
 */
void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first);

/*
 * Return the first item of the next set granule at or after the cursor,
 * and move the cursor just past that granule; return -1 if there is none.
 * Successive calls therefore return increasing values, each granule once.
 *
 * What the iterator sees when @hb changes between calls: it keeps no copy
 * of the bitmap, only its cursor, so each call answers from the bitmap as
 * it is at that moment.
 *   - A bit reset before the cursor reaches it is not returned (the mirror
 *     resets ranges while it iterates and relies on this).
 *   - A bit set at or after the cursor is returned when the cursor gets
 *     there, even if it was set after hbitmap_iter_init().
 *   - A bit set behind the cursor (including in the granule just returned)
 *     is never returned by this iterator: init a new one to see it.
 *   - After -1 the cursor stays put, so a later call returns bits set
 *     beyond it in the meantime.
 * QEMU's iterator matches the first and third points and "may miss" bits
 * set after init; here they are never missed.
 *
 * Cost: O(1) when the next set bit is in the current word; otherwise it
 * climbs only as many levels as the distance to the next set bit needs, so
 * a full walk is O(set words + levels).
 */
int64_t hbitmap_iter_next(HBitmapIter *hbi);

/*
 * First set item in [@start, @start + @count), clipped to the size, or -1.
 * A set granule that begins before @start yields @start itself.
 * @start >= 0, @count >= 0; @count may run past the end (INT64_MAX).
 */
int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count);

/*
 * First clear item in [@start, @start + @count), clipped to the size, or
 * -1.  Rounding as for hbitmap_next_dirty().  This scans the bit level a
 * word at a time: O(distance / 2^granularity / 64).
 */
int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count);

/*
 * Find the first run of set items in [@start, @end) (clipped to the size)
 * and return it in *@dirty_start and *@dirty_count, the run being cut at
 * @max_dirty_count items (> 0) and at @end.  Returns false, leaving the
 * outputs alone, if there is no set item in the range.
 */
bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count);

/*
 * Block-status style query: return whether the item @start is set, and
 * set *@pnum to the number of items from @start, at most @count, that
 * share that state.  @count > 0 and @start + @count <= size.
 */
bool hbitmap_status(const HBitmap *hb, int64_t start, int64_t count,
                    int64_t *pnum);

/* Whether @a and @b may be merged: they have the same size. */
bool hbitmap_can_merge(const HBitmap *a, const HBitmap *b);

/*
 * @result = @a | @b.  All three have the same size (assert()ed) but may
 * have different granularities; @result may be @a or @b.  A granule of
 * @result is set when it holds a set item of @a or @b.  Cost: O(size of
 * @result's bit level) when the granularities agree, else O(set runs).
 */
void hbitmap_merge(const HBitmap *a, const HBitmap *b, HBitmap *result);

/* A new bitmap equal to @hb: same size, granularity and bits. */
HBitmap *hbitmap_copy(const HBitmap *hb);

/*
 * Serialization writes the bit level as little-endian 64-bit words, bit i
 * of the bitmap being bit i % 8 of byte i / 8 of the stream, as QEMU's
 * persistent bitmaps store it.  A part covers the items [@start, @start +
 * @count); @start must be a multiple of hbitmap_serialization_align(), and
 * so must @count unless the part ends in the last granule.
 */

/* Item alignment of a part: 64 granules.  Needs granularity < 58. */
uint64_t hbitmap_serialization_align(const HBitmap *hb);

/* Bytes that the part [@start, @start + @count) takes in the stream. */
uint64_t hbitmap_serialization_size(const HBitmap *hb,
                                    uint64_t start, uint64_t count);

/* Write the part into @buf (hbitmap_serialization_size() bytes). */
void hbitmap_serialize_part(const HBitmap *hb, uint8_t *buf,
                            uint64_t start, uint64_t count);

/*
 * Overwrite a part of @hb from @buf, or with zeroes or ones.  Bits that
 * the stream holds past the end of the bitmap are dropped.  These write
 * the bit level only: until hbitmap_deserialize_finish() runs (directly,
 * or through @finish), the summary levels and the count are stale and no
 * other function may be called on @hb.
 */
void hbitmap_deserialize_part(HBitmap *hb, uint8_t *buf,
                              uint64_t start, uint64_t count, bool finish);
void hbitmap_deserialize_zeroes(HBitmap *hb, uint64_t start,
                                uint64_t count, bool finish);
void hbitmap_deserialize_ones(HBitmap *hb, uint64_t start, uint64_t count,
                              bool finish);

/* Rebuild the summary levels and the count from the bit level. */
void hbitmap_deserialize_finish(HBitmap *hb);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HBitmap, hbitmap_free)

#endif /* QBLOCK_QEMU_HBITMAP_H */
