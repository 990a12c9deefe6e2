/*
 * FUZZ_CHECK(cond): a fuzz target's invariant. When it does not hold, the condition and its
 * place go to stderr and the run aborts, which libFuzzer and the replay driver (driver.c)
 * report as a crash with the input that caused it.
 */
#ifndef SX_FUZZ_CHECK_H
#define SX_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
