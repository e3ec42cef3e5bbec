/*
 * ratelimit.h: slice-based rate limiting, as used for a block job's speed.
 *
 * Time is cut into slices of @slice_ns; each slice has a quota of units
 * (bytes, for jobs).  Work is accounted after the fact: a request of any
 * size may start while the current slice still has quota left, and once
 * the quota is used up the slice is stretched in proportion to the
 * overshoot, so a big request is paid for by waiting afterwards.
 *
 * The arithmetic is QEMU's (7.2), kept exactly so that job speeds behave
 * the same (see util/ratelimit.c for a worked example).  In particular:
 *   - speed 0 disables the limiter (every delay is 0);
 *   - the quota per slice is speed * slice_ns / 1e9 computed in double and
 *     truncated, but never less than 1 unit; so with 100 ms slices any
 *     speed from 1 to 19 B/s gives a quota of 1 byte per slice, and speeds
 *     of 1 to 9 B/s all behave exactly like 10 B/s;
 *   - the first request of a fresh slice always starts at once, whatever
 *     its size (with speed 1 a whole 16 MiB mirror buffer goes out before
 *     the first wait).
 *
 * There is no lock: the limiter belongs to one job, and only the thread
 * running that job's AioContext (and the monitor, which changes the speed
 * while holding that context) may call these functions.
 */
#ifndef QBLOCK_QEMU_RATELIMIT_H
#define QBLOCK_QEMU_RATELIMIT_H

typedef struct RateLimit {
    int64_t slice_start_time;   /* clock value the current slice began */
    int64_t slice_end_time;     /* ... and ends, stretched by overshoot */
    uint64_t slice_quota;       /* units per slice; 0 means disabled */
    uint64_t slice_ns;          /* nominal length of a slice */
    uint64_t dispatched;        /* units accounted in the current slice */
} RateLimit;

/* Start a disabled limiter. */
void ratelimit_init(RateLimit *limit);

/* Release @limit's resources (it has none today; call it anyway). */
void ratelimit_destroy(RateLimit *limit);

/*
 * Limit to @speed units per second in slices of @slice_ns nanoseconds
 * (must be non-zero unless @speed is 0); @speed 0 disables the limiter.
 * Accounting in progress is kept, so a change takes effect from the next
 * call to ratelimit_calculate_delay().
 */
void ratelimit_set_speed(RateLimit *limit, uint64_t speed, uint64_t slice_ns);

/* True unless the speed is 0. */
bool ratelimit_enabled(RateLimit *limit);

/*
 * Account @n units just dispatched (0 to only ask) and return how long to
 * wait before dispatching more: 0 to go on now, else nanoseconds.  Uses
 * qemu_clock_get_ns(QEMU_CLOCK_REALTIME).
 */
int64_t ratelimit_calculate_delay(RateLimit *limit, uint64_t n);

/* As ratelimit_calculate_delay(), with the clock read as @now_ns. */
int64_t ratelimit_calculate_delay_at(RateLimit *limit, uint64_t n,
                                     int64_t now_ns);

#endif /* QBLOCK_QEMU_RATELIMIT_H */
