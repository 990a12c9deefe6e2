
#include "core/log.h"
#include "core/buf.h"
#include "core/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX   8192
#define REDACT_MAX     4096      /* registered secrets; older ones are kept, new ones refused */

static atomic_int      log_level = HUB_LOG_INFO;
static atomic_int      log_json = 1;
static atomic_int      log_fd = 2;
static pthread_mutex_t redact_lock = PTHREAD_MUTEX_INITIALIZER;
static char          **redact_vals;
static size_t         *redact_lens;
static size_t          redact_n;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
hub_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int
hub_log_get_level(void)
{
    return atomic_load(&log_level);
}

void
hub_log_set_json(int json)
{
    atomic_store(&log_json, json ? 1 : 0);
}

void
hub_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

int
hub_log_level_parse(const char *s)
{
    int i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

int
hub_log_redact_add(const char *secret, size_t len)
{
    char  **vals;
    size_t *lens;
    char   *copy;
    size_t  i;
    int     rc = 0;

    if (secret == NULL || len < 4)
        return 0;
    pthread_mutex_lock(&redact_lock);
    for (i = 0; i < redact_n; i++) {
        if (redact_lens[i] == len && memcmp(redact_vals[i], secret, len) == 0)
            goto out;
    }
    if (redact_n >= REDACT_MAX) {
        rc = HUB_E_LIMIT;
        goto out;
    }
    copy = malloc(len + 1);
    vals = realloc(redact_vals, (redact_n + 1) * sizeof(*vals));
    if (vals != NULL)
        redact_vals = vals;
    lens = realloc(redact_lens, (redact_n + 1) * sizeof(*lens));
    if (lens != NULL)
        redact_lens = lens;
    if (copy == NULL || vals == NULL || lens == NULL) {
        free(copy);
        rc = HUB_E_NOMEM;
        goto out;
    }
    memcpy(copy, secret, len);
    copy[len] = '\0';
    redact_vals[redact_n] = copy;
    redact_lens[redact_n] = len;
    redact_n++;
out:
    pthread_mutex_unlock(&redact_lock);
    return rc;
}

void
hub_log_redact_clear(void)
{
    size_t i;

    pthread_mutex_lock(&redact_lock);
    for (i = 0; i < redact_n; i++) {
        explicit_bzero(redact_vals[i], redact_lens[i]);
        free(redact_vals[i]);
    }
    free(redact_vals);
    free(redact_lens);
    redact_vals = NULL;
    redact_lens = NULL;
    redact_n = 0;
    pthread_mutex_unlock(&redact_lock);
}

size_t
hub_log_redact(const char *in, size_t len, char *out, size_t cap)
{
    static const char mark[] = "[REDACTED]";
    size_t            i = 0, o = 0, k;

    if (cap == 0)
        return 0;
    pthread_mutex_lock(&redact_lock);
    while (i < len && o + 1 < cap) {
        size_t hit = 0;

        for (k = 0; k < redact_n; k++) {
            if (redact_lens[k] <= len - i &&
                memcmp(in + i, redact_vals[k], redact_lens[k]) == 0) {
                hit = redact_lens[k];
                break;
            }
        }
        if (hit > 0) {
            size_t m = sizeof(mark) - 1;

            if (m > cap - 1 - o)
                m = cap - 1 - o;
            memcpy(out + o, mark, m);
            o += m;
            i += hit;
            continue;
        }
        out[o++] = in[i++];
    }
    pthread_mutex_unlock(&redact_lock);
    out[o] = '\0';
    return o;
}

static void
log_emit(int level, const char *component, const char *fields, const char *fmt, va_list ap)
{
    char            raw[LOG_LINE_MAX], msg[LOG_LINE_MAX], ts[96];
    struct hub_buf  line;
    struct timespec now;
    struct tm       tm;
    int             n;
    ssize_t         w;

    if (level > atomic_load(&log_level) || level < 0)
        return;
    n = vsnprintf(raw, sizeof(raw), fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(raw))
        n = sizeof(raw) - 1;
    hub_log_redact(raw, (size_t)n, msg, sizeof(msg));

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000);

    hub_buf_init(&line, LOG_LINE_MAX * 2);
    if (atomic_load(&log_json)) {
        hub_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", ts,
                       level_names[level]);
        hub_buf_json_str(&line, component, strlen(component));
        hub_buf_puts(&line, ",\"msg\":");
        hub_buf_json_str(&line, msg, strlen(msg));
        if (fields != NULL && fields[0] != '\0') {
            char red[LOG_LINE_MAX];

            hub_log_redact(fields, strlen(fields), red, sizeof(red));
            hub_buf_printf(&line, ",%s", red);
        }
        hub_buf_puts(&line, "}\n");
    } else {
        hub_buf_printf(&line, "%s %-5s %s: %s", ts, level_names[level], component, msg);
        if (fields != NULL && fields[0] != '\0') {
            char red[LOG_LINE_MAX];

            hub_log_redact(fields, strlen(fields), red, sizeof(red));
            hub_buf_printf(&line, " {%s}", red);
        }
        hub_buf_puts(&line, "\n");
    }
    if (line.data != NULL) {
        w = write(atomic_load(&log_fd), line.data, line.len);
        (void)w;
    }
    hub_buf_free(&line);
}

void
hub_logv(int level, const char *component, const char *fmt, va_list ap)
{
    log_emit(level, component, NULL, fmt, ap);
}

void
hub_log(int level, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(level, component, NULL, fmt, ap);
    va_end(ap);
}

void
hub_log_fields(int level, const char *component, const char *fields, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(level, component, fields, fmt, ap);
    va_end(ap);
}
