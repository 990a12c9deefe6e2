#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
finish_msg(char *msg, int n)
{
    if (n >= HUB_ERROR_MAX)
        memcpy(msg + HUB_ERROR_MAX - 4, "...", 4);
}

int
hub_error_set(struct hub_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0';
    finish_msg(err->msg, n);
    return code;
}

int
hub_error_prefix(struct hub_error *err, const char *fmt, ...)
{
    char    prefix[HUB_ERROR_MAX];
    char    old[HUB_ERROR_MAX];
    va_list ap;
    int     n;

    if (err == NULL)
        return HUB_E_INTERNAL;
    va_start(ap, fmt);
    n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    memcpy(old, err->msg, sizeof(old));
    n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    finish_msg(err->msg, n);
    return err->code;
}

void
hub_error_clear(struct hub_error *err)
{
    if (err != NULL) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *
hub_error_name(int code)
{
    switch (code) {
    case HUB_OK:             return "HUB_OK";
    case HUB_E_INVALID:      return "HUB_E_INVALID";
    case HUB_E_NOMEM:        return "HUB_E_NOMEM";
    case HUB_E_TRANSIENT:    return "HUB_E_TRANSIENT";
    case HUB_E_RATE_LIMITED: return "HUB_E_RATE_LIMITED";
    case HUB_E_AUTH:         return "HUB_E_AUTH";
    case HUB_E_NOT_FOUND:    return "HUB_E_NOT_FOUND";
    case HUB_E_CONFLICT:     return "HUB_E_CONFLICT";
    case HUB_E_REJECTED:     return "HUB_E_REJECTED";
    case HUB_E_PROTOCOL:     return "HUB_E_PROTOCOL";
    case HUB_E_UNSUPPORTED:  return "HUB_E_UNSUPPORTED";
    case HUB_E_LIMIT:        return "HUB_E_LIMIT";
    case HUB_E_INTERNAL:     return "HUB_E_INTERNAL";
    case HUB_E_SIGNATURE:    return "HUB_E_SIGNATURE";
    case HUB_E_STALE:        return "HUB_E_STALE";
    case HUB_E_DB:           return "HUB_E_DB";
    case HUB_E_PLUGIN:       return "HUB_E_PLUGIN";
    case HUB_E_PLUGIN_ABI:   return "HUB_E_PLUGIN_ABI";
    case HUB_E_CONFIG:       return "HUB_E_CONFIG";
    case HUB_E_IO:           return "HUB_E_IO";
    case HUB_E_CRYPTO:       return "HUB_E_CRYPTO";
    default:                 return "HUB_E_UNKNOWN";
    }
}
