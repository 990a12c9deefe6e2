/*
 * Milliseconds of a POSIX clock: CLOCK_MONOTONIC for intervals and deadlines, CLOCK_REALTIME
 * to compare with times the database or a platform wrote.
 */
#ifndef HUB_CORE_CLOCK_H
#define HUB_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
hub_clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
