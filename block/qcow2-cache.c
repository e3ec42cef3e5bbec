/*
 * qcow2-cache.c: the metadata caches of the qcow2 driver.
 *
 * Two caches hold whole clusters of metadata read from the image file:
 * one for L2 tables, one for refcount blocks.  A table is found by its
 * host offset.  Callers get a pointer to the table (a reference that pins
 * the entry), read or change it, mark it dirty if changed, and put it
 * back.  Dirty tables are written back when they are evicted, or when
 * the cache is flushed (bdrv_co_flush, close, and the ordering points of
 * the allocation code).
 *
 * Invariants:
 *  - every function runs with s->lock held, so a table is never loaded
 *    twice and the LRU state needs no other lock;
 *  - a pinned entry (ref > 0) is never evicted; callers never keep a
 *    reference across a release of s->lock;
 *  - before any table of a cache is written, the cache it depends on
 *    (c->depends) is written and the file flushed, and if
 *    c->depends_on_flush is set the file is flushed first.  The L2 cache
 *    depends on the refcount cache: a cluster's refcount reaches the disk
 *    before any L2 entry that points at it, so a crash leaks clusters at
 *    worst and never leaves an entry pointing at a free cluster.
 *
 * Costs: a lookup is a linear scan of the entries (a few hundred at the
 * default sizes: 32 MiB of 64 KiB L2 tables is 512 entries); an eviction
 * picks the least recently used unpinned entry by the same scan.
 *
 * Example: a write allocates a data cluster: the refcount block is
 * fetched, its entry incremented and marked dirty; the L2 table is
 * fetched, the entry set, marked dirty.  At the next flush the L2 cache
 * writes: it first writes the refcount block and flushes the file, then
 * writes the L2 table, then flushes again.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qcow2.h"
#include "trace.h"

typedef struct Qcow2CacheEntry {
    uint64_t offset;            /* 0: unused */
    void *table;
    int ref;
    bool dirty;
    bool used_since_clean;
    uint64_t lru;
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    int size;
    int table_size;
    uint64_t lru_counter;
    Qcow2Cache *depends;
    bool depends_on_flush;
    bool is_l2;
};

Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               int table_size)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);
    int i;

    c->size = num_tables;
    c->table_size = table_size;
    c->entries = g_new0(Qcow2CacheEntry, num_tables);
    for (i = 0; i < num_tables; i++) {
        c->entries[i].table = qemu_try_blockalign(bs->file->bs, table_size);
        if (!c->entries[i].table) {
            qcow2_cache_destroy(c);
            return NULL;
        }
    }
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    int i;

    if (!c) {
        return;
    }
    for (i = 0; i < c->size; i++) {
        qemu_vfree(c->entries[i].table);
    }
    g_free(c->entries);
    g_free(c);
}

void qcow2_cache_set_dependency(Qcow2Cache *c, Qcow2Cache *dep)
{
    c->depends = dep;
}

void qcow2_cache_depends_on_flush(Qcow2Cache *c)
{
    c->depends_on_flush = true;
}

bool qcow2_cache_has_dirty(Qcow2Cache *c)
{
    int i;

    for (i = 0; i < c->size; i++) {
        if (c->entries[i].dirty) {
            return true;
        }
    }
    return false;
}

/* Make the write of a table of @c safe: what it depends on is on disk. */
static int coroutine_fn qcow2_cache_prepare_write(BlockDriverState *bs,
                                                  Qcow2Cache *c)
{
    int ret;

    if (c->depends && qcow2_cache_has_dirty(c->depends)) {
        ret = qcow2_cache_flush(bs, c->depends);
        if (ret < 0) {
            return ret;
        }
        c->depends_on_flush = false;
    }
    if (c->depends_on_flush) {
        ret = bdrv_co_flush(bs->file->bs);
        if (ret < 0) {
            return ret;
        }
        c->depends_on_flush = false;
    }
    return 0;
}

static int coroutine_fn qcow2_cache_entry_flush(BlockDriverState *bs,
                                                Qcow2Cache *c, int i)
{
    Qcow2CacheEntry *e = &c->entries[i];
    int ret;

    if (!e->dirty || !e->offset) {
        return 0;
    }
    ret = qcow2_cache_prepare_write(bs, c);
    if (ret < 0) {
        return ret;
    }
    /* The dependency flush may have yielded: look again. */
    if (!e->dirty || !e->offset) {
        return 0;
    }
    trace_qcow2_cache_entry_flush(bs, c->is_l2, e->offset);
    BLKDBG_EVENT(bs->file, c->is_l2 ? BLKDBG_L2_UPDATE
                                    : BLKDBG_REFBLOCK_UPDATE_PART);
    ret = bdrv_co_pwrite(bs->file, e->offset, c->table_size, e->table, 0);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = 0;
    int i;

    for (i = 0; i < c->size; i++) {
        int ret = qcow2_cache_entry_flush(bs, c, i);

        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    bool had_dirty = qcow2_cache_has_dirty(c);
    int ret = qcow2_cache_write(bs, c);

    if (ret == 0 && had_dirty) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret;
}

static int qcow2_cache_find(Qcow2Cache *c, uint64_t offset)
{
    int i;

    for (i = 0; i < c->size; i++) {
        if (c->entries[i].offset == offset) {
            return i;
        }
    }
    return -1;
}

/* An entry to load a new table into: free, else the LRU unpinned one. */
static int coroutine_fn qcow2_cache_victim(BlockDriverState *bs,
                                           Qcow2Cache *c)
{
    int i, best;
    int ret;

    for (;;) {
        best = -1;
        for (i = 0; i < c->size; i++) {
            if (c->entries[i].ref) {
                continue;
            }
            if (!c->entries[i].offset) {
                return i;
            }
            if (best < 0 || c->entries[i].lru < c->entries[best].lru) {
                best = i;
            }
        }
        if (best < 0) {
            /* Cannot happen: callers pin at most a couple of tables. */
            return -ENOSPC;
        }
        if (!c->entries[best].dirty) {
            return best;
        }
        ret = qcow2_cache_entry_flush(bs, c, best);
        if (ret < 0) {
            return ret;
        }
        /* Writing yielded; the entry may be in use again: rescan. */
        if (!c->entries[best].ref && !c->entries[best].dirty) {
            return best;
        }
    }
}

static int coroutine_fn qcow2_cache_do_get(BlockDriverState *bs,
                                           Qcow2Cache *c, uint64_t offset,
                                           void **table, bool read)
{
    Qcow2CacheEntry *e;
    int i, ret;

    assert(offset != 0);
    assert(QEMU_IS_ALIGNED(offset, c->table_size));
    i = qcow2_cache_find(c, offset);
    if (i < 0) {
        trace_qcow2_cache_miss(bs, c->is_l2, offset);
        i = qcow2_cache_victim(bs, c);
        if (i < 0) {
            return i;
        }
        e = &c->entries[i];
        e->offset = 0;
        if (read) {
            /* Pin the entry while it is being filled. */
            e->ref++;
            BLKDBG_EVENT(bs->file, c->is_l2 ? BLKDBG_L2_LOAD
                                            : BLKDBG_REFBLOCK_LOAD);
            ret = bdrv_co_pread(bs->file, offset, c->table_size, e->table,
                                0);
            e->ref--;
            if (ret < 0) {
                return ret;
            }
        }
        /* Someone may have loaded the same table meanwhile: use theirs. */
        if (qcow2_cache_find(c, offset) >= 0) {
            i = qcow2_cache_find(c, offset);
        } else {
            e->offset = offset;
            e->dirty = false;
        }
    }
    e = &c->entries[i];
    e->ref++;
    e->lru = ++c->lru_counter;
    e->used_since_clean = true;
    *table = e->table;
    return 0;
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table)
{
    return qcow2_cache_do_get(bs, c, offset, table, true);
}

int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table)
{
    return qcow2_cache_do_get(bs, c, offset, table, false);
}

static int qcow2_cache_index_of(Qcow2Cache *c, void *table)
{
    int i;

    for (i = 0; i < c->size; i++) {
        if (c->entries[i].table == table) {
            return i;
        }
    }
    g_assert_not_reached();
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = qcow2_cache_index_of(c, *table);

    assert(c->entries[i].ref > 0);
    c->entries[i].ref--;
    *table = NULL;
}

void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table)
{
    int i = qcow2_cache_index_of(c, table);

    assert(c->entries[i].offset != 0);
    c->entries[i].dirty = true;
}

void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    int i = qcow2_cache_find(c, offset);

    if (i >= 0 && !c->entries[i].ref) {
        c->entries[i].offset = 0;
        c->entries[i].dirty = false;
    }
}

void qcow2_cache_clean_unused(Qcow2Cache *c)
{
    int i;

    for (i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];

        if (e->offset && !e->ref && !e->dirty && !e->used_since_clean) {
            e->offset = 0;
        }
        e->used_since_clean = false;
    }
}

void qcow2_cache_mark_l2(Qcow2Cache *c)
{
    c->is_l2 = true;
}
