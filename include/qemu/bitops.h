/*
 * bitops.h: single-bit operations on arrays of unsigned long, and searches.
 *
 * A bit array is a plain C array of unsigned long; bit @nr lives in word
 * BIT_WORD(nr) under mask BIT_MASK(nr), so bit 0 is the least significant
 * bit of word 0.  Nothing here allocates or knows the array's length
 * except the find_*() functions, which take it as @size (in bits).
 *
 * The plain operations (set_bit, test_and_set_bit, ...) are not atomic:
 * the caller serialises access.  set_bit_atomic() and clear_bit_atomic()
 * are for bitmaps that several threads update; bitmap.h has range versions.
 *
 * The find functions return @size when there is no such bit, never -1, and
 * they ignore whatever the last word holds past @size.
 */
#ifndef QBLOCK_QEMU_BITOPS_H
#define QBLOCK_QEMU_BITOPS_H

#define BITS_PER_BYTE           8
#define BITS_PER_LONG           (__SIZEOF_LONG__ * BITS_PER_BYTE)

#define BIT(nr)                 (1UL << (nr))
#define BIT_ULL(nr)             (1ULL << (nr))
#define BIT_MASK(nr)            (1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)            ((nr) / BITS_PER_LONG)
#define BITS_TO_LONGS(nr)       DIV_ROUND_UP(nr, BITS_PER_LONG)

/* Bits from @nr % BITS_PER_LONG up, and the low @nr % BITS_PER_LONG. */
#define BITMAP_FIRST_WORD_MASK(nr) (~0UL << ((nr) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nr)  (~0UL >> (-(nr) & (BITS_PER_LONG - 1)))

/* Trailing / leading zeros of a long; BITS_PER_LONG for 0. */
static inline int ctzl(unsigned long v)
{
    return v ? __builtin_ctzl(v) : BITS_PER_LONG;
}

static inline int clzl(unsigned long v)
{
    return v ? __builtin_clzl(v) : BITS_PER_LONG;
}

static inline int ctpopl(unsigned long v)
{
    return __builtin_popcountl(v);
}

static inline void set_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline void change_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] ^= BIT_MASK(nr);
}

static inline bool test_bit(long nr, const unsigned long *addr)
{
    return (addr[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

/* Set (clear, flip) bit @nr and return what it was before. */
static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old | BIT_MASK(nr);
    return (old & BIT_MASK(nr)) != 0;
}

static inline bool test_and_clear_bit(long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old & ~BIT_MASK(nr);
    return (old & BIT_MASK(nr)) != 0;
}

static inline bool test_and_change_bit(long nr, unsigned long *addr)
{
    unsigned long *p = addr + BIT_WORD(nr);
    unsigned long old = *p;

    *p = old ^ BIT_MASK(nr);
    return (old & BIT_MASK(nr)) != 0;
}

/* Sequentially consistent single-bit updates, safe against other threads. */
static inline void set_bit_atomic(long nr, unsigned long *addr)
{
    __atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

static inline void clear_bit_atomic(long nr, unsigned long *addr)
{
    __atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

/*
 * Index of the first set (clear) bit at or after @offset and below @size,
 * or @size if there is none (also when @offset >= @size).
 */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset);
unsigned long find_next_zero_bit(const unsigned long *addr,
                                 unsigned long size, unsigned long offset);

/* Index of the highest set bit below @size, or @size if none is set. */
unsigned long find_last_bit(const unsigned long *addr, unsigned long size);

static inline unsigned long find_first_bit(const unsigned long *addr,
                                           unsigned long size)
{
    return find_next_bit(addr, size, 0);
}

static inline unsigned long find_first_zero_bit(const unsigned long *addr,
                                                unsigned long size)
{
    return find_next_zero_bit(addr, size, 0);
}

/*
 * Bit fields of an integer: extract64(v, start, len) is bits
 * [start, start + len) of @v moved down to bit 0; deposit64() returns @v
 * with those bits replaced by the low @len bits of @field.
 */
static inline uint64_t extract64(uint64_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 64 - start);
    return (value >> start) & (~UINT64_C(0) >> (64 - length));
}

static inline uint64_t deposit64(uint64_t value, int start, int length,
                                 uint64_t fieldval)
{
    uint64_t mask;

    assert(start >= 0 && length > 0 && length <= 64 - start);
    mask = (~UINT64_C(0) >> (64 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

static inline uint32_t extract32(uint32_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 32 - start);
    return (value >> start) & (~UINT32_C(0) >> (32 - length));
}

static inline uint32_t deposit32(uint32_t value, int start, int length,
                                 uint32_t fieldval)
{
    uint32_t mask;

    assert(start >= 0 && length > 0 && length <= 32 - start);
    mask = (~UINT32_C(0) >> (32 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

#endif /* QBLOCK_QEMU_BITOPS_H */
