/*
 * iov.c: scatter/gather lists and zero detection.
 *
 * A request's data rarely sits in one buffer: an NBD export reads into
 * pieces, the mirror cuts its buffer into chunks, a qcow2 write is split at
 * cluster boundaries.  A QEMUIOVector names such data as a list of
 * (pointer, length) elements plus a cached total, and every function here
 * speaks in payload offsets: byte N is the N-th byte you would see if the
 * elements were concatenated.  Element boundaries are an accident of how
 * the vector was built and must never change a result.
 *
 * Invariants:
 *   - qiov->size == sum of qiov->iov[i].iov_len for i < niov;
 *   - nalloc == -1 means the array is borrowed (the caller's, or the one
 *     element embedded in the struct) and its shape must not change;
 *     otherwise niov <= nalloc and the array is ours;
 *   - the vector never owns the data its elements point at.
 *
 * Costs: adding an element is amortised O(1) (the array doubles); offset
 * based access walks the elements from the start, O(niov), which is fine for
 * the short vectors block requests carry (a few to a few hundred elements).
 * Slicing and concatenation copy pointers, never data.
 *
 * Worked example: a vector of three elements of 4, 0 and 6 bytes, A B C,
 * has size 10.  Offset 4 is byte 0 of C: the zero-length B is skipped, and
 * offset 4 is "at the end of A" and "at the start of C" at once, so copying
 * 3 bytes from offset 4 reads C[0..2].  A slice of offset 2 and length 5
 * gives the two elements (A + 2, 2) and (C, 3).
 *
 * buffer_is_zero() is on the hot path of detect-zeroes and of the mirror's
 * zero skipping, where almost every call sees either all-zero data or data
 * that is non-zero within its first few bytes.  So it looks at the first 16
 * bytes one word at a time (the fast "no"), then ORs the bulk together 64
 * bytes per step with 16-byte vector loads from an aligned address, testing
 * for non-zero once per step (the fast "yes").
 */
#include "qemu/osdep.h"

#include "qemu/iov.h"

size_t iov_size(const struct iovec *iov, unsigned int iov_cnt)
{
    size_t len = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

/*
 * Find payload offset @offset: on return *@idx is the first element with
 * bytes at or after it (or @iov_cnt) and *@skip the offset within it.
 * @offset must not exceed the payload size.
 */
static void iov_find(const struct iovec *iov, unsigned int iov_cnt,
                     size_t offset, unsigned int *idx, size_t *skip)
{
    unsigned int i = 0;

    while (i < iov_cnt && offset >= iov[i].iov_len) {
        offset -= iov[i].iov_len;
        i++;
    }
    assert(i < iov_cnt || offset == 0);
    *idx = i;
    *skip = offset;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes)
{
    const char *src = buf;
    unsigned int i;
    size_t skip, done = 0;

    iov_find(iov, iov_cnt, offset, &i, &skip);
    for (; i < iov_cnt && done < bytes; i++) {
        size_t len = MIN(iov[i].iov_len - skip, bytes - done);

        if (len) {
            memcpy((char *)iov[i].iov_base + skip, src + done, len);
        }
        done += len;
        skip = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes)
{
    char *dst = buf;
    unsigned int i;
    size_t skip, done = 0;

    iov_find(iov, iov_cnt, offset, &i, &skip);
    for (; i < iov_cnt && done < bytes; i++) {
        size_t len = MIN(iov[i].iov_len - skip, bytes - done);

        if (len) {
            memcpy(dst + done, (char *)iov[i].iov_base + skip, len);
        }
        done += len;
        skip = 0;
    }
    return done;
}

size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes)
{
    unsigned int i;
    size_t skip, done = 0;

    iov_find(iov, iov_cnt, offset, &i, &skip);
    for (; i < iov_cnt && done < bytes; i++) {
        size_t len = MIN(iov[i].iov_len - skip, bytes - done);

        if (len) {
            memset((char *)iov[i].iov_base + skip, fillc, len);
        }
        done += len;
        skip = 0;
    }
    return done;
}

void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    assert(alloc_hint >= 0);
    memset(qiov, 0, sizeof(*qiov));
    qiov->iov = alloc_hint ? g_new(struct iovec, alloc_hint) : NULL;
    qiov->nalloc = alloc_hint;
}

void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov)
{
    assert(niov >= 0);
    memset(qiov, 0, sizeof(*qiov));
    qiov->iov = iov;
    qiov->niov = niov;
    qiov->nalloc = -1;
    qiov->size = iov_size(iov, niov);
}

void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len)
{
    memset(qiov, 0, sizeof(*qiov));
    qiov->local_iov.iov_base = buf;
    qiov->local_iov.iov_len = len;
    qiov->iov = &qiov->local_iov;
    qiov->niov = 1;
    qiov->nalloc = -1;
    qiov->size = len;
}

void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    assert(qiov->nalloc != -1);

    if (qiov->niov == qiov->nalloc) {
        assert(qiov->nalloc <= (INT_MAX - 1) / 2);
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
    }
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->niov++;
    qiov->size += len;
}

void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes)
{
    unsigned int i;
    size_t skip, done = 0;

    assert(dst->nalloc != -1);
    assert(soffset <= src->size);

    iov_find(src->iov, src->niov, soffset, &i, &skip);
    for (; i < (unsigned int)src->niov && done < sbytes; i++) {
        size_t len = MIN(src->iov[i].iov_len - skip, sbytes - done);

        if (len) {
            qemu_iovec_add(dst, (char *)src->iov[i].iov_base + skip, len);
        }
        done += len;
        skip = 0;
    }
}

void qemu_iovec_init_slice(QEMUIOVector *dst, QEMUIOVector *src,
                           size_t offset, size_t len)
{
    unsigned int first, last;
    size_t skip, last_skip;

    assert(len <= src->size && offset <= src->size - len);

    /*
     * The slice lies within elements first..last (last only if the slice
     * ends inside it), so this many slots always suffice.
     */
    iov_find(src->iov, src->niov, offset, &first, &skip);
    iov_find(src->iov, src->niov, offset + len, &last, &last_skip);
    qemu_iovec_init(dst, last - first + 1);
    qemu_iovec_concat(dst, src, offset, len);
}

void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        g_free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes)
{
    return iov_to_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes)
{
    return iov_from_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes)
{
    return iov_memset(qiov->iov, qiov->niov, offset, fillc, bytes);
}

bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    unsigned int i;
    size_t skip;

    assert(bytes <= qiov->size && offset <= qiov->size - bytes);

    iov_find(qiov->iov, qiov->niov, offset, &i, &skip);
    for (; bytes; i++) {
        size_t len = MIN(qiov->iov[i].iov_len - skip, bytes);

        if (len &&
            !buffer_is_zero((char *)qiov->iov[i].iov_base + skip, len)) {
            return false;
        }
        bytes -= len;
        skip = 0;
    }
    return true;
}

/* Offset of the first differing byte of two equal-length buffers, or -1. */
static ssize_t first_difference(const char *p, const char *q, size_t len)
{
    size_t i;

    if (!memcmp(p, q, len)) {
        return -1;
    }
    for (i = 0; p[i] == q[i]; i++) {
        /* memcmp() found a difference, so this stops within @len. */
    }
    return i;
}

ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b)
{
    int ai = 0, bi = 0;
    size_t askip = 0, bskip = 0;
    size_t common = MIN(a->size, b->size);
    size_t pos = 0;

    /*
     * Walk both vectors in lock step; each step compares the longest run
     * that lies within the current element of both.
     */
    while (pos < common) {
        size_t alen, blen, len;
        ssize_t diff;

        if (askip == a->iov[ai].iov_len) {
            ai++;
            askip = 0;
            continue;
        }
        if (bskip == b->iov[bi].iov_len) {
            bi++;
            bskip = 0;
            continue;
        }
        alen = a->iov[ai].iov_len - askip;
        blen = b->iov[bi].iov_len - bskip;
        len = MIN(MIN(alen, blen), common - pos);
        diff = first_difference((char *)a->iov[ai].iov_base + askip,
                                (char *)b->iov[bi].iov_base + bskip, len);
        if (diff >= 0) {
            return pos + diff;
        }
        pos += len;
        askip += len;
        bskip += len;
    }
    return a->size == b->size ? -1 : (ssize_t)common;
}

void *qemu_try_memalign(size_t align, size_t size)
{
    void *ptr;
    int ret;

    if (align < sizeof(void *)) {
        align = sizeof(void *);
    }
    assert(is_power_of_2(align));

    /*
     * posix_memalign() may return NULL or a unique pointer for size 0;
     * always ask for at least one byte so callers see the same either way.
     */
    ret = posix_memalign(&ptr, align, size ? size : 1);
    if (ret) {
        errno = ret;
        return NULL;
    }
    return ptr;
}

void *qemu_memalign(size_t align, size_t size)
{
    void *ptr = qemu_try_memalign(align, size);

    if (!ptr) {
        fprintf(stderr, "qemu_memalign: failed to allocate %zu bytes at "
                "alignment %zu: %s\n", size, align, strerror(errno));
        abort();
    }
    return ptr;
}

void qemu_vfree(void *ptr)
{
    free(ptr);
}

/* A 16-byte vector; may_alias because it overlays caller data of any type. */
typedef uint64_t ZeroVec __attribute__((vector_size(16), may_alias));

/* Bytewise-or-wordwise check for short or unaligned pieces. */
static bool small_is_zero(const unsigned char *p, size_t len)
{
    uint64_t acc = 0;

    while (len >= sizeof(uint64_t)) {
        uint64_t w;

        memcpy(&w, p, sizeof(w));
        acc |= w;
        p += sizeof(w);
        len -= sizeof(w);
    }
    while (len) {
        acc |= *p++;
        len--;
    }
    return !acc;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    const unsigned char *end = p + len;
    const unsigned char *head_end;
    const ZeroVec *v, *vend;

    if (len < 64) {
        return small_is_zero(p, len);
    }

    /* Non-zero data is usually non-zero at the start: answer "no" fast. */
    if (!small_is_zero(p, 16)) {
        return false;
    }

    /* Bytes before the first 16-byte boundary (we already know 16 are 0). */
    head_end = (const unsigned char *)ROUND_UP((uintptr_t)p, sizeof(ZeroVec));
    v = (const ZeroVec *)head_end;
    vend = (const ZeroVec *)QEMU_ALIGN_DOWN((uintptr_t)end, sizeof(ZeroVec));

    for (; vend - v >= 4; v += 4) {
        ZeroVec acc = v[0] | v[1] | v[2] | v[3];

        if (acc[0] | acc[1]) {
            return false;
        }
    }
    for (; v < vend; v++) {
        ZeroVec acc = v[0];

        if (acc[0] | acc[1]) {
            return false;
        }
    }
    return small_is_zero((const unsigned char *)vend,
                         end - (const unsigned char *)vend);
}
