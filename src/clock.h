/*
 * clock: the monotonic clock in microseconds, for timers and limits.
 * clock_gettime(CLOCK_MONOTONIC) goes through the vDSO: no system call.
 */
#ifndef SPLICER_CLOCK_H
#define SPLICER_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
