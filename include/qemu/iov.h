/*
 * iov.h: scatter/gather lists (struct iovec arrays and QEMUIOVector), and
 * the aligned-buffer and zero-detection helpers the I/O path uses with them.
 *
 * Every offset and length here counts bytes of payload, as if the elements
 * were laid end to end in one flat buffer; element boundaries are never
 * visible to the caller.  Zero-length elements are allowed anywhere and
 * simply contribute nothing.
 *
 * None of these functions lock anything: a vector belongs to the request
 * that built it, and only that request's thread touches it.
 */
#ifndef QBLOCK_QEMU_IOV_H
#define QBLOCK_QEMU_IOV_H

#include <sys/types.h>
#include <sys/uio.h>

/* ---- raw struct iovec arrays ---- */

/* Total payload of the first @iov_cnt elements of @iov. */
size_t iov_size(const struct iovec *iov, unsigned int iov_cnt);

/*
 * Copy up to @bytes from @buf into the payload of @iov starting at
 * payload offset @offset.  Returns the number of bytes copied, which is
 * less than @bytes only if the vector ends first.  @offset may equal the
 * payload size (nothing is copied) but must not exceed it.
 */
size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes);

/* The reverse of iov_from_buf(): copy payload out into @buf. */
size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes);

/* As iov_from_buf(), but store the byte @fillc instead of copying. */
size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes);

/* ---- QEMUIOVector ---- */

/*
 * A growable iovec array with its payload size cached.
 *
 * @nalloc says who owns @iov:
 *   >= 0  @iov is ours (g_new), with room for @nalloc elements;
 *         qemu_iovec_add() grows it
 *   -1    @iov is borrowed: either the caller's array
 *         (qemu_iovec_init_external()) or @local_iov
 *         (qemu_iovec_init_buf()); the vector is then read-only in shape
 *         (no add, concat into or reset)
 *
 * @size is always the sum of the element lengths.  The data itself is never
 * owned by the vector.
 */
struct QEMUIOVector {
    struct iovec *iov;
    int niov;
    int nalloc;
    size_t size;
    /* The single element of a qemu_iovec_init_buf() vector. */
    struct iovec local_iov;
};

/*
 * Start an empty vector owning room for @alloc_hint elements (it grows
 * beyond that as needed).  Free it with qemu_iovec_destroy().
 */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);

/*
 * Wrap the caller's array of @niov elements.  The array must outlive the
 * vector and is not freed by qemu_iovec_destroy().
 */
void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov);

/*
 * Wrap one flat buffer as a one-element vector with no allocation: the
 * element lives inside @qiov itself, so @qiov must not be copied by value
 * once initialised (its @iov would still point at the original).
 */
void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len);

/* Append one element.  @qiov must own its array (not external or buf). */
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);

/*
 * Append to @dst the elements that cover payload bytes
 * [@soffset, @soffset + @sbytes) of @src (clipped to @src's end; @soffset
 * must not exceed @src->size).  Zero-length pieces are not appended.
 * Only pointers are copied, never data.  @dst must own its array.
 */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes);

/*
 * Initialise @dst as a new vector over payload bytes
 * [@offset, @offset + @len) of @src, which must lie within @src.  @dst owns
 * its (new) array and must be destroyed; the data is still @src's.
 */
void qemu_iovec_init_slice(QEMUIOVector *dst, QEMUIOVector *src,
                           size_t offset, size_t len);

/* Drop all elements, keeping the allocation.  @qiov must own its array. */
void qemu_iovec_reset(QEMUIOVector *qiov);

/* Free the array if owned, and zero @qiov.  The data is never freed. */
void qemu_iovec_destroy(QEMUIOVector *qiov);

/* iov_to_buf() / iov_from_buf() / iov_memset() on a QEMUIOVector. */
size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes);
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes);
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes);

/*
 * True if payload bytes [@offset, @offset + @bytes) are all zero; the range
 * must lie within @qiov.  An empty range is zero.
 */
bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes);

/*
 * Compare the payloads of @a and @b, which may be split into elements
 * differently.  Returns the offset of the first differing byte, or -1 if
 * they are equal.  If one payload is a proper prefix of the other, the
 * shorter one's size is returned.
 */
ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b);

/* ---- aligned buffers and zero detection ---- */

/*
 * Allocate @size bytes aligned to @align, a power of two (values below
 * sizeof(void *) are raised to it).  A @size of 0 still returns a unique
 * pointer.  qemu_try_memalign() returns NULL on failure with errno set;
 * qemu_memalign() prints a message and aborts instead.  Free with
 * qemu_vfree(), never g_free().
 */
void *qemu_try_memalign(size_t align, size_t size);
void *qemu_memalign(size_t align, size_t size);

/* Free a buffer from qemu_memalign(); NULL is fine. */
void qemu_vfree(void *ptr);

/*
 * True if the @len bytes at @buf are all zero (true for @len 0).  Any
 * alignment is accepted; the bulk is checked 64 bytes per step, so a
 * 64 KiB all-zero cluster takes on the order of a microsecond.
 */
bool buffer_is_zero(const void *buf, size_t len);

#endif /* QBLOCK_QEMU_IOV_H */
