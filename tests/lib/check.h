/*
 * A tiny test harness (libuv style): each test file is a process of its own, run by ctest with
 * a timeout; assertion macros print both operands and the location, and count failures.
 * A test program ends with `return check_report();`, which prints "N passed, N failed".
 * Exit code 77 means "skipped" (ctest SKIP_RETURN_CODE).
 */
#ifndef SX_TEST_CHECK_H
#define SX_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int check_passed;
extern int check_failed;
extern const char *check_current;

#define CHECK_FAIL_AT(file, line, ...)                                              \
    do {                                                                            \
        check_failed++;                                                             \
        fprintf(stderr, "FAIL %s:%d in %s: ", file, line,                           \
                check_current ? check_current : "?");                               \
        fprintf(stderr, __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                        \
    } while (0)

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond)                                                                   \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK(%s)", #cond);                  \
    } while (0)

#define CHECK_EQ(expected, actual)                                                  \
    do {                                                                            \
        long long e_ = (long long)(expected), a_ = (long long)(actual);             \
        if (e_ == a_)                                                               \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_EQ(%s, %s): expected %lld, got %lld", \
                          #expected, #actual, e_, a_);                              \
    } while (0)

#define CHECK_NE(a, b)                                                              \
    do {                                                                            \
        long long a_ = (long long)(a), b_ = (long long)(b);                         \
        if (a_ != b_)                                                               \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_NE(%s, %s): both %lld", #a, #b, a_); \
    } while (0)

#define CHECK_GE(a, b)                                                              \
    do {                                                                            \
        long long a_ = (long long)(a), b_ = (long long)(b);                         \
        if (a_ >= b_)                                                               \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_GE(%s, %s): %lld < %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_LE(a, b)                                                              \
    do {                                                                            \
        long long a_ = (long long)(a), b_ = (long long)(b);                         \
        if (a_ <= b_)                                                               \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_LE(%s, %s): %lld > %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_STR_EQ(expected, actual)                                              \
    do {                                                                            \
        const char *e_ = (expected), *a_ = (actual);                                \
        if (e_ != NULL && a_ != NULL && strcmp(e_, a_) == 0)                        \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_STR_EQ(%s, %s):\n  expected \"%s\"\n  got      \"%s\"", \
                          #expected, #actual, e_ ? e_ : "(null)", a_ ? a_ : "(null)"); \
    } while (0)

/* `haystack` contains `needle`. */
#define CHECK_STR_HAS(haystack, needle)                                             \
    do {                                                                            \
        const char *h_ = (haystack), *n_ = (needle);                                \
        if (h_ != NULL && n_ != NULL && strstr(h_, n_) != NULL)                     \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_STR_HAS(%s, %s):\n  \"%s\"\n  lacks \"%s\"", \
                          #haystack, #needle, h_ ? h_ : "(null)", n_ ? n_ : "(null)"); \
    } while (0)

#define CHECK_MEM_EQ(expected, elen, actual, alen)                                  \
    do {                                                                            \
        size_t el_ = (elen), al_ = (alen);                                          \
        if (el_ == al_ && memcmp((expected), (actual), el_) == 0)                   \
            check_passed++;                                                         \
        else                                                                        \
            CHECK_FAIL_AT(__FILE__, __LINE__, "CHECK_MEM_EQ(%s, %s): \"%.*s\" vs \"%.*s\"", \
                          #expected, #actual, (int)el_, (const char *)(expected),  \
                          (int)al_, (const char *)(actual));                        \
    } while (0)

/* Stop this test program at once (a precondition failed; later checks are meaningless). */
#define REQUIRE(cond)                                                               \
    do {                                                                            \
        if (!(cond)) {                                                              \
            CHECK_FAIL_AT(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                \
            exit(check_report());                                                   \
        }                                                                           \
        check_passed++;                                                             \
    } while (0)

#define RUN_TEST(fn)                                                                \
    do {                                                                            \
        int before_ = check_failed;                                                 \
        check_current = #fn;                                                        \
        fn();                                                                       \
        fprintf(stderr, "%s %s\n", check_failed == before_ ? "ok  " : "FAIL", #fn); \
        check_current = NULL;                                                       \
    } while (0)

/* Print the totals and return the exit code (0 when nothing failed and something passed). */
int check_report(void);

/* Exit 77 (skipped) with a reason, unless SX_REQUIRE_ALL=1, where it is a failure instead. */
void check_skip(const char *why) __attribute__((noreturn));

#endif
