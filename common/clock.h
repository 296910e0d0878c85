/* clock.h -- milliseconds of the monotonic clock, for deadlines, timers and durations. */
#ifndef CO_CLOCK_H
#define CO_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC in ms: never jumps with the wall clock. */
static inline long long
clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
