/*
 * Structured logs: one JSON object per line on stderr (or text for a terminal), written with a
 * single write(2) so lines from several threads never interleave. Every secret registered with
 * hub_log_redact_add() is replaced by "[REDACTED]" before the line is written.
 * Thread-safe.
 */
#ifndef HUB_CORE_LOG_H
#define HUB_CORE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum {
    HUB_LOG_ERROR = 0,
    HUB_LOG_WARN  = 1,
    HUB_LOG_INFO  = 2,
    HUB_LOG_DEBUG = 3
};

void hub_log_set_level(int level);
int  hub_log_get_level(void);
/* 1 = JSON lines (default), 0 = "time level component: message" text. */
void hub_log_set_json(int json);
/* Write to this fd instead of 2 (tests). */
void hub_log_set_fd(int fd);
/* Parse "error|warn|info|debug"; -1 when unknown. */
int  hub_log_level_parse(const char *s);

/* Register a secret value to redact (copied; values shorter than 4 bytes are ignored, they
 * would redact ordinary words). Returns 0 or HUB_E_NOMEM. */
int  hub_log_redact_add(const char *secret, size_t len);
/* Forget every registered secret (tests, shutdown). */
void hub_log_redact_clear(void);
/* Copy `in` to `out` (cap bytes, NUL-terminated) with every registered secret redacted. */
size_t hub_log_redact(const char *in, size_t len, char *out, size_t cap);

void hub_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hub_logv(int level, const char *component, const char *fmt, va_list ap);
/* With extra JSON fields: `fields` is a JSON object body without braces ("\"job\":12"),
 * trusted (built by the host), may be NULL. */
void hub_log_fields(int level, const char *component, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define hub_log_error(comp, ...) hub_log(HUB_LOG_ERROR, comp, __VA_ARGS__)
#define hub_log_warn(comp, ...)  hub_log(HUB_LOG_WARN, comp, __VA_ARGS__)
#define hub_log_info(comp, ...)  hub_log(HUB_LOG_INFO, comp, __VA_ARGS__)
#define hub_log_debug(comp, ...) do { if (hub_log_get_level() >= HUB_LOG_DEBUG) \
                                          hub_log(HUB_LOG_DEBUG, comp, __VA_ARGS__); } while (0)

#endif
