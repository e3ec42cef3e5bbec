/*
 * test-ratelimit.c: the slice arithmetic of RateLimit, driven with explicit
 * clock values through ratelimit_calculate_delay_at(), so nothing here
 * sleeps or depends on how fast the machine is.
 */
#include "qemu/osdep.h"

#include "qemu/ratelimit.h"

#define SLICE_NS    INT64_C(100000000)      /* block jobs use 100 ms */
#define T0          (INT64_C(5) * NANOSECONDS_PER_SECOND)
#define MS          (INT64_C(1000) * 1000)

static void test_disabled(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    g_assert_false(ratelimit_enabled(&rl));
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 1, T0), ==, 0);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, UINT64_MAX / 2, T0),
                    ==, 0);
    g_assert_cmpint(ratelimit_calculate_delay(&rl, 16 * MiB), ==, 0);

    /* Speed 0 switches an active limiter off again. */
    ratelimit_set_speed(&rl, 1 * MiB, SLICE_NS);
    g_assert_true(ratelimit_enabled(&rl));
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 16 * MiB, T0), >, 0);
    ratelimit_set_speed(&rl, 0, SLICE_NS);
    g_assert_false(ratelimit_enabled(&rl));
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 16 * MiB, T0), ==, 0);
    ratelimit_destroy(&rl);
}

static void test_quota(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 10 * MiB, SLICE_NS);
    g_assert_cmpuint(rl.slice_quota, ==, 1 * MiB);

    /* Below the quota, everything goes at once. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 512 * KiB, T0), ==, 0);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 511 * KiB, T0 + MS),
                    ==, 0);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + 2 * MS), ==, 0);

    /* Reaching the quota exactly ends the slice: wait for its end. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 1 * KiB, T0 + 40 * MS),
                    ==, 60 * MS);
    /* Asking again (n = 0) gives the time still left. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + 90 * MS),
                    ==, 10 * MS);
    /* At the very end the slice is still current: nothing left to wait. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + SLICE_NS),
                    ==, 0);
    ratelimit_destroy(&rl);
}

static void test_burst(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 10 * MiB, SLICE_NS);

    /* A whole 16 MiB buffer goes out at once, then 16 slices are owed. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 16 * MiB, T0),
                    ==, 16 * SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + 1000 * MS),
                    ==, 600 * MS);

    /* More work inside the stretched slice stretches it further. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 512 * KiB,
                                                 T0 + 1000 * MS),
                    ==, 650 * MS);
    ratelimit_destroy(&rl);
}

static void test_overshoot_proportional(void)
{
    static const uint64_t sizes[] = { 1, 3, 7, 10, 64, 1000 };
    unsigned i;

    /* n quarter-quotas at once owe n / 4 slices, measured from the start. */
    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        RateLimit rl;
        uint64_t n = sizes[i] * 256 * KiB;
        int64_t want = n >= 1 * MiB ? (int64_t)(sizes[i] * SLICE_NS / 4) : 0;

        ratelimit_init(&rl);
        ratelimit_set_speed(&rl, 10 * MiB, SLICE_NS);
        g_assert_cmpint(ratelimit_calculate_delay_at(&rl, n, T0), ==, want);
        ratelimit_destroy(&rl);
    }
}

static void test_new_slice(void)
{
    RateLimit rl;
    int64_t end;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 10 * MiB, SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 3 * MiB, T0),
                    ==, 300 * MS);
    end = T0 + 300 * MS;

    /* One nanosecond after the stretched end, accounting starts afresh. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 512 * KiB, end + 1),
                    ==, 0);
    g_assert_cmpuint(rl.dispatched, ==, 512 * KiB);
    g_assert_cmpint(rl.slice_start_time, ==, end + 1);
    g_assert_cmpint(rl.slice_end_time, ==, end + 1 + SLICE_NS);

    /* 1.25 quotas in the new slice: stretched to 125 ms from its start. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 768 * KiB,
                                                 end + 1 + 50 * MS),
                    ==, 75 * MS);

    /* A long idle gap: the first request after it goes at once. */
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 1 * KiB,
                                                 end + 100 * SLICE_NS),
                    ==, 0);
    g_assert_cmpuint(rl.dispatched, ==, 1 * KiB);
    ratelimit_destroy(&rl);
}

/* The first call on a fresh limiter always opens a slice, whatever n. */
static void test_first_request_bursts(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 1, SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 16 * MiB, T0),
                    ==, 16 * MiB * SLICE_NS);
    g_assert_cmpint(rl.slice_start_time, ==, T0);
    ratelimit_destroy(&rl);
}

/*
 * QEMU floors the quota at one unit: at 100 ms slices every speed from 1
 * to 9 B/s behaves exactly as 10 B/s (one byte per slice), neither as
 * "unlimited" nor as anything slower.
 */
static void test_slow_speeds(void)
{
    static const struct {
        uint64_t speed;
        uint64_t quota;
    } cases[] = {
        { 1, 1 }, { 5, 1 }, { 9, 1 }, { 10, 1 }, { 15, 1 }, { 19, 1 },
        { 20, 2 }, { 29, 2 }, { 30, 3 }, { 1000, 100 },
    };
    uint64_t speed;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        RateLimit rl;

        ratelimit_init(&rl);
        ratelimit_set_speed(&rl, cases[i].speed, SLICE_NS);
        g_assert_true(ratelimit_enabled(&rl));
        g_assert_cmpuint(rl.slice_quota, ==, cases[i].quota);
        ratelimit_destroy(&rl);
    }

    for (speed = 1; speed <= 10; speed++) {
        RateLimit rl;

        ratelimit_init(&rl);
        ratelimit_set_speed(&rl, speed, SLICE_NS);
        /* One byte fills the slice. */
        g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 1, T0),
                        ==, SLICE_NS);
        /* Three more bytes in it stretch it to four slices. */
        g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 3, T0 + 50 * MS),
                        ==, 4 * SLICE_NS - 50 * MS);
        ratelimit_destroy(&rl);
    }
}

/* Changing the speed keeps the slice and what was dispatched in it. */
static void test_set_speed_midslice(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 10 * MiB, SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 2 * MiB, T0),
                    ==, 200 * MS);

    /* Twice the speed: the same 2 MiB now owes only 100 ms. */
    ratelimit_set_speed(&rl, 20 * MiB, SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + 10 * MS),
                    ==, 90 * MS);

    /* Ten times: below the quota, go at once. */
    ratelimit_set_speed(&rl, 100 * MiB, SLICE_NS);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 0, T0 + 10 * MS),
                    ==, 0);
    ratelimit_destroy(&rl);
}

/* Other slice lengths and a fractional quota truncate as in QEMU. */
static void test_other_slices(void)
{
    RateLimit rl;

    ratelimit_init(&rl);
    ratelimit_set_speed(&rl, 1000, 1 * MS);       /* 1 unit per ms */
    g_assert_cmpuint(rl.slice_quota, ==, 1);
    ratelimit_set_speed(&rl, 2500, 1 * MS);       /* 2.5 -> 2 */
    g_assert_cmpuint(rl.slice_quota, ==, 2);
    g_assert_cmpint(ratelimit_calculate_delay_at(&rl, 5, T0), ==, 5 * MS / 2);
    ratelimit_set_speed(&rl, UINT64_MAX, SLICE_NS);
    g_assert_cmpuint(rl.slice_quota, ==,
                     (uint64_t)((double)UINT64_MAX * SLICE_NS /
                                NANOSECONDS_PER_SECOND));
    ratelimit_destroy(&rl);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ratelimit/disabled", test_disabled);
    g_test_add_func("/ratelimit/quota", test_quota);
    g_test_add_func("/ratelimit/burst", test_burst);
    g_test_add_func("/ratelimit/overshoot-proportional",
                    test_overshoot_proportional);
    g_test_add_func("/ratelimit/new-slice", test_new_slice);
    g_test_add_func("/ratelimit/first-request-bursts",
                    test_first_request_bursts);
    g_test_add_func("/ratelimit/slow-speeds", test_slow_speeds);
    g_test_add_func("/ratelimit/set-speed-midslice", test_set_speed_midslice);
    g_test_add_func("/ratelimit/other-slices", test_other_slices);
    return g_test_run();
}
