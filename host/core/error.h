/*
 * Errors: functions return 0 or a negative HUB_E_* and, where an administrator may read the
 * message, fill a struct hub_error.
 */
#ifndef HUB_CORE_ERROR_H
#define HUB_CORE_ERROR_H

#include <stddef.h>

enum {
    HUB_OK            =   0,
    HUB_E_INVALID     =  -1,
    HUB_E_NOMEM       =  -2,
    HUB_E_TRANSIENT   =  -3,
    HUB_E_RATE_LIMITED = -4,
    HUB_E_AUTH        =  -5,
    HUB_E_NOT_FOUND   =  -6,
    HUB_E_CONFLICT    =  -7,
    HUB_E_REJECTED    =  -8,
    HUB_E_PROTOCOL    =  -9,
    HUB_E_UNSUPPORTED = -10,
    HUB_E_LIMIT       = -11,
    HUB_E_INTERNAL    = -12,
    HUB_E_SIGNATURE   = -13,
    HUB_E_STALE       = -14,
    /* host-only codes, below the SDK's range */
    HUB_E_DB          = -100,
    HUB_E_PLUGIN      = -101,
    HUB_E_PLUGIN_ABI  = -102,
    HUB_E_CONFIG      = -103,
    HUB_E_IO          = -104,
    HUB_E_CRYPTO      = -105
};

#define HUB_ERROR_MAX 512

struct hub_error {
    int  code;
    char msg[HUB_ERROR_MAX];
};

/* Set `err` (may be NULL) to `code` and a printf-style message; returns `code`. Messages
 * longer than HUB_ERROR_MAX - 1 are cut with "..." at the end. */
int hub_error_set(struct hub_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in `err` with "<prefix>: ". Returns err->code. */
int hub_error_prefix(struct hub_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void hub_error_clear(struct hub_error *err);

/* Stable name of a code ("HUB_E_DB"). */
const char *hub_error_name(int code);

#endif
