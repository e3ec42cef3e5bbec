/*
 * qcow2-backing.c: rewriting the backing file a qcow2 image names
 * (qblock-img rebase).
 *
 * The backing file's name and format live in the header cluster
 * (cluster 0): the name is a byte string (no terminator) at
 * backing_file_offset / backing_file_size from the header, and the
 * format is the "backing format" header extension.  The extensions sit
 * between header_length and the name, each a magic, a length and data
 * padded to 8 bytes, closed by an end marker (magic 0).  Everything in
 * the cluster after the name is unused.
 *
 * A change rebuilds that region in memory from what is on disk:
 *
 *   [ header | crypto? | backing format? | other extensions | end | name ]
 *
 * The backing format extension goes where QEMU puts it, before every
 * extension other than the crypto header; every other extension (the
 * feature name table, bitmaps, ones we do not know) is kept byte for
 * byte in its old order.  The new region is written in one request
 * from offset 0 and flushed.  Bytes the old layout used beyond the new
 * end are zeroed in the same request, so nothing stale looks like an
 * extension.  A new layout that does not fit in the header cluster
 * fails with -ENOSPC and leaves the image alone.
 *
 * Example: an image made by "qemu-img create -f qcow2 -b a.img -F raw"
 * with 64 KiB clusters has header_length 112, the backing format
 * extension at 112 (8 + 8 bytes: "raw" padded), the feature name table
 * at 128, the end marker, then "a.img" at the next offset.  Rebasing it
 * to "b.qcow2" / qcow2 writes the format extension (8 + 8: "qcow2"
 * padded), the same feature table, the end marker and the 7-byte name.
 */
#include "qemu/osdep.h"

#include "qcow2.h"
#include "trace.h"

/* One header extension found in the header cluster. */
typedef struct Qcow2ExtRef {
    uint32_t magic;
    uint32_t len;
    uint32_t offset;            /* of its data in the header cluster */
} Qcow2ExtRef;

static uint32_t be32_at(const uint8_t *buf, size_t offset)
{
    uint32_t v;

    memcpy(&v, buf + offset, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static uint64_t be64_at(const uint8_t *buf, size_t offset)
{
    uint64_t v;

    memcpy(&v, buf + offset, sizeof(v));
    return GUINT64_FROM_BE(v);
}

static void put_be32(uint8_t *buf, size_t offset, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(buf + offset, &v, sizeof(v));
}

static void put_be64(uint8_t *buf, size_t offset, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(buf + offset, &v, sizeof(v));
}

/* Append an extension (header, then data padded to 8) at *@pos. */
static bool put_ext(uint8_t *buf, size_t size, size_t *pos, uint32_t magic,
                    const void *data, uint32_t len)
{
    size_t padded = ROUND_UP((size_t)len, 8);

    if (*pos + sizeof(QCowExtension) + padded > size) {
        return false;
    }
    put_be32(buf, *pos, magic);
    put_be32(buf, *pos + 4, len);
    *pos += sizeof(QCowExtension);
    memset(buf + *pos, 0, padded);
    if (len) {
        memcpy(buf + *pos, data, len);
    }
    *pos += padded;
    return true;
}

int qcow2_change_backing_file(BlockDriverState *bs,
                              const char *backing_file,
                              const char *backing_fmt)
{
    BDRVQcow2State *s = bs->opaque;
    size_t csize = s->cluster_size;
    g_autofree uint8_t *old = NULL;
    g_autofree uint8_t *new = NULL;
    g_autoptr(GArray) exts = g_array_new(false, false, sizeof(Qcow2ExtRef));
    size_t hdr_len, limit, pos, old_end, name_len, name_offset = 0;
    uint64_t old_name_offset;
    uint32_t old_name_size;
    bool fmt_done = false;
    guint i;
    int ret;

    if (backing_file && !backing_file[0]) {
        backing_file = NULL;
    }
    if (!backing_file) {
        /* A format without a name means nothing to QEMU either. */
        backing_fmt = NULL;
    }
    name_len = backing_file ? strlen(backing_file) : 0;
    if (name_len >= sizeof(bs->backing_file) ||
        (backing_fmt && strlen(backing_fmt) >= sizeof(bs->backing_format))) {
        return -EINVAL;
    }

    /* The header cluster as it is on disk now. */
    ret = bdrv_flush(bs);
    if (ret < 0) {
        return ret;
    }
    old = g_malloc0(csize);
    ret = bdrv_pread(bs->file, 0, csize, old, 0);
    if (ret < 0) {
        return ret;
    }
    hdr_len = s->version == 2 ? QCOW2_V2_HEADER_LENGTH
                              : be32_at(old, offsetof(QCowHeader,
                                                      header_length));
    old_name_offset = be64_at(old, offsetof(QCowHeader,
                                            backing_file_offset));
    old_name_size = be32_at(old, offsetof(QCowHeader, backing_file_size));
    if (hdr_len > csize || old_name_offset > csize ||
        old_name_size > csize - old_name_offset) {
        return -EINVAL;
    }
    limit = old_name_offset ? old_name_offset : csize;

    /* The extensions there are, up to the end marker. */
    pos = hdr_len;
    while (pos + sizeof(QCowExtension) <= limit) {
        Qcow2ExtRef e = {
            .magic = be32_at(old, pos),
            .len = be32_at(old, pos + 4),
            .offset = pos + sizeof(QCowExtension),
        };

        pos += sizeof(QCowExtension);
        if (e.magic == QCOW2_EXT_MAGIC_END) {
            break;
        }
        if (e.len > limit - pos) {
            /* Open refused this image already; do not guess. */
            return -EINVAL;
        }
        pos += ROUND_UP((size_t)e.len, 8);
        if (e.magic != QCOW2_EXT_MAGIC_BACKING_FORMAT) {
            g_array_append_val(exts, e);
        }
    }
    old_end = MAX(MIN(pos, limit), (size_t)(old_name_offset + old_name_size));

    /* The new region. */
    new = g_malloc0(csize);
    memcpy(new, old, hdr_len);
    pos = hdr_len;
    for (i = 0; i <= exts->len; i++) {
        Qcow2ExtRef *e = i < exts->len ? &g_array_index(exts, Qcow2ExtRef, i)
                                       : NULL;

        if (!fmt_done && (!e || e->magic != QCOW2_EXT_MAGIC_CRYPTO_HEADER)) {
            fmt_done = true;
            if (backing_fmt &&
                !put_ext(new, csize, &pos, QCOW2_EXT_MAGIC_BACKING_FORMAT,
                         backing_fmt, strlen(backing_fmt))) {
                return -ENOSPC;
            }
        }
        if (e && !put_ext(new, csize, &pos, e->magic, old + e->offset,
                          e->len)) {
            return -ENOSPC;
        }
    }
    if (!put_ext(new, csize, &pos, QCOW2_EXT_MAGIC_END, NULL, 0)) {
        return -ENOSPC;
    }
    if (backing_file) {
        if (pos + name_len > csize) {
            return -ENOSPC;
        }
        name_offset = pos;
        memcpy(new + pos, backing_file, name_len);
        pos += name_len;
    }
    put_be64(new, offsetof(QCowHeader, backing_file_offset), name_offset);
    put_be32(new, offsetof(QCowHeader, backing_file_size), name_len);
    trace_qcow2_change_backing_file(bs, name_offset, name_len, pos);

    ret = bdrv_pwrite(bs->file, 0, MAX(pos, old_end), new, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }

    s->backing_file_offset = name_offset;
    s->backing_file_size = name_len;
    g_free(s->image_backing_file);
    s->image_backing_file = g_strdup(backing_file);
    g_free(s->image_backing_format);
    s->image_backing_format = g_strdup(backing_fmt);
    g_strlcpy(bs->backing_file, backing_file ? backing_file : "",
              sizeof(bs->backing_file));
    g_strlcpy(bs->backing_format, backing_fmt ? backing_fmt : "",
              sizeof(bs->backing_format));
    return 0;
}
