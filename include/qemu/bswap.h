/*
 * bswap.h: big-endian loads and stores at any address.
 *
 * Wire formats (NBD headers, option payloads) are byte streams in network
 * order with fields at odd offsets; these read and write them without
 * alignment assumptions (memcpy compiles to a plain load on x86_64 and
 * aarch64) and without a struct layout to get wrong.
 *   ldl_be_p(p)      the 32-bit big-endian value at p
 *   stq_be_p(p, v)   store v as 64-bit big-endian at p
 */
#ifndef QBLOCK_QEMU_BSWAP_H
#define QBLOCK_QEMU_BSWAP_H

static inline uint16_t lduw_be_p(const void *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT16_FROM_BE(v);
}

static inline uint32_t ldl_be_p(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static inline uint64_t ldq_be_p(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

static inline void stw_be_p(void *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stl_be_p(void *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stq_be_p(void *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

#endif /* QBLOCK_QEMU_BSWAP_H */
