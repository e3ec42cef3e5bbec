/*
 * ratelimit.c: slice-based rate limiting (contract in qemu/ratelimit.h).
 *
 * State: one slice [slice_start_time, slice_end_time] and the units
 * dispatched in it.  A call first starts a fresh slice if the old one,
 * possibly stretched, has ended; then it adds the new units.  While the
 * total stays below the quota the answer is "go".  Once it reaches the
 * quota the slice is stretched to dispatched / quota nominal slices from
 * its start, and the answer is the time left until that stretched end.
 * The next call after that end opens a fresh slice, so the rate over any
 * long run is quota units per slice_ns.
 *
 * Worked example, speed 10 MiB/s and 100 ms slices, so a quota of
 * 1048576 bytes per slice, times counted from the first call:
 *   - t = 0 s: a fresh slice [0, 0.1 s] opens and 16 MiB is dispatched.
 *     That reaches the quota, so the slice is stretched to 16 nominal
 *     slices, ending at 1.6 s: delay 1.6 s.
 *   - t = 1 s, asking with n = 0: still inside the slice: delay 0.6 s.
 *   - t = 1.7 s, 512 KiB: the slice ended (strictly) before now, so a
 *     fresh one [1.7 s, 1.8 s] opens; 512 KiB is below the quota: delay 0.
 *   - t = 1.75 s, 768 KiB more: 1.25 MiB reaches the quota; the slice is
 *     stretched to 1.25 nominal slices, ending at 1.825 s: delay 75 ms.
 *
 * The arithmetic follows QEMU's exactly, including double precision for
 * the quota and the stretch and the truncations back to integers, so that
 * a job given the same speed makes the same progress as under QEMU.
 *
 * A zeroed limiter has slice_end_time 0, and the monotonic clock is never
 * 0, so its first call always opens a fresh slice.
 */
#include "qemu/osdep.h"

#include "qemu/ratelimit.h"
#include "qemu/timer.h"

void ratelimit_init(RateLimit *limit)
{
    memset(limit, 0, sizeof(*limit));
}

void ratelimit_destroy(RateLimit *limit)
{
    /* Nothing is allocated; kept so that callers pair init and destroy. */
}

void ratelimit_set_speed(RateLimit *limit, uint64_t speed, uint64_t slice_ns)
{
    double quota;

    limit->slice_ns = slice_ns;
    if (!speed) {
        limit->slice_quota = 0;
        return;
    }

    /*
     * QEMU computes this in double and truncates, with a floor of one
     * unit: below 10 units/s at 100 ms slices the exact quota would be
     * fractional (0.1 to 0.9) and truncate to 0, which would mean
     * "disabled", so it is raised to 1 instead.
     */
    quota = ((double)speed * slice_ns) / NANOSECONDS_PER_SECOND;
    limit->slice_quota = (uint64_t)MAX(quota, 1.0);
}

bool ratelimit_enabled(RateLimit *limit)
{
    return limit->slice_quota != 0;
}

int64_t ratelimit_calculate_delay_at(RateLimit *limit, uint64_t n,
                                     int64_t now_ns)
{
    double delay_slices;

    if (!limit->slice_quota) {
        return 0;
    }
    assert(limit->slice_ns);

    if (limit->slice_end_time < now_ns) {
        /* The previous (perhaps stretched) slice is over: start afresh. */
        limit->slice_start_time = now_ns;
        limit->slice_end_time = now_ns + limit->slice_ns;
        limit->dispatched = 0;
    }

    limit->dispatched += n;
    if (limit->dispatched < limit->slice_quota) {
        return 0;
    }

    /*
     * Quota used up: stretch the slice so that it covers everything
     * dispatched at the nominal rate, and wait for its end.
     */
    delay_slices = (double)limit->dispatched / limit->slice_quota;
    limit->slice_end_time = limit->slice_start_time +
        (uint64_t)(delay_slices * limit->slice_ns);
    return limit->slice_end_time - now_ns;
}

int64_t ratelimit_calculate_delay(RateLimit *limit, uint64_t n)
{
    return ratelimit_calculate_delay_at(limit, n,
                                        qemu_clock_get_ns(QEMU_CLOCK_REALTIME));
}
