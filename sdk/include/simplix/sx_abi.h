/*
 * Simplix Hub connector SDK: versions, the common struct header, borrowed strings and the
 * status codes every callback returns.
 *
 * ABI rules (sdk/ABI.md): append only; a new field or service bumps SX_ABI_MINOR; a removal
 * or a change of meaning bumps SX_ABI_MAJOR. Status codes are never renumbered or reused.
 */
#ifndef SIMPLIX_SX_ABI_H
#define SIMPLIX_SX_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SX_ABI_MAJOR    1           /* bump = old plugins refused; rare, announced */
#define SX_ABI_MINOR    2           /* bump = something appended; old plugins still load */
#define SX_ABI_VERSION  (((uint32_t)SX_ABI_MAJOR << 16) | (uint32_t)SX_ABI_MINOR)
#define SX_SDK_ABI_VERSION SX_ABI_VERSION

#define SX_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define SX_ABI_VERSION_MINOR(v) ((uint32_t)(v) & 0xffffu)

#define SX_SDK_VERSION_STRING "1.2.0"

#if defined(__GNUC__) || defined(__clang__)
#define SX_EXPORT        __attribute__((visibility("default")))
#define SX_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#else
#define SX_EXPORT
#define SX_PRINTF(f, a)
#endif

/* First member of every struct that crosses the boundary, in either direction. */
typedef struct sx_header {
    uint32_t abi_version;   /* SX_ABI_VERSION of the headers the writer was built with */
    uint32_t struct_size;   /* sizeof the struct as the writer knew it */
} sx_header;

#define SX_HEADER_INIT(type)  { SX_ABI_VERSION, (uint32_t)sizeof(type) }

/* Size of `type` up to and including `member`: the size a given ABI minor had. */
#define SX_SIZE_THROUGH(type, member) \
    (offsetof(type, member) + sizeof(((type *)0)->member))

/* True when the struct the other side sent is new enough to contain `member`. */
#define SX_HAS(ptr, type, member) \
    ((size_t)(ptr)->hdr.struct_size >= SX_SIZE_THROUGH(type, member))

/*
 * Borrowed bytes: not NUL-terminated unless said otherwise, valid until the callback that
 * received them returns. A NULL ptr with len 0 is the empty string.
 */
typedef struct sx_str {
    const char *ptr;
    size_t      len;
} sx_str;

#define SX_STR(lit)      ((sx_str){ (lit), sizeof(lit) - 1 })   /* string literals only */
#define SX_STR_NULL      ((sx_str){ NULL, 0 })
#define SX_STR_FMT       "%.*s"
#define SX_STR_ARG(s)    (int)(s).len, ((s).ptr != NULL ? (s).ptr : "")

/*
 * Status codes. 0 is success, failures are negative. Append only: never renumber or reuse a
 * value; a retired code stays reserved (curl keeps CURLE_OBSOLETEnn for the same reason).
 * The engine decides what to do from the code: the plugin says "retry or not" by its choice.
 */
enum {
    SX_OK             =   0,
    SX_E_INVALID      =  -1,  /* caller bug or malformed argument: not retried */
    SX_E_NOMEM        =  -2,
    SX_E_TRANSIENT    =  -3,  /* timeout, reset, 5xx: host retries with backoff and jitter */
    SX_E_RATE_LIMITED =  -4,  /* host waits for the limiter / Retry-After, then retries */
    SX_E_AUTH         =  -5,  /* credentials refused: host refreshes once, then flags it */
    SX_E_NOT_FOUND    =  -6,
    SX_E_CONFLICT     =  -7,
    SX_E_REJECTED     =  -8,  /* platform refused the record (validation): logged, not retried */
    SX_E_PROTOCOL     =  -9,  /* platform answered something we cannot parse */
    SX_E_UNSUPPORTED  = -10,
    SX_E_LIMIT        = -11,  /* a bound was hit: body size, JSON depth, page count */
    SX_E_INTERNAL     = -12,
    SX_E_SIGNATURE    = -13,  /* webhook or callback signature missing or wrong */
    SX_E_STALE        = -14,  /* signed timestamp outside the platform's tolerance */
    SX_E__LAST        = -14   /* the lowest code this SDK knows; grows downwards */
};

/* Short stable name of a status code ("SX_E_AUTH"); never NULL. Header-only. */
static inline const char *
sx_status_name(int code)
{
    switch (code) {
    case SX_OK:             return "SX_OK";
    case SX_E_INVALID:      return "SX_E_INVALID";
    case SX_E_NOMEM:        return "SX_E_NOMEM";
    case SX_E_TRANSIENT:    return "SX_E_TRANSIENT";
    case SX_E_RATE_LIMITED: return "SX_E_RATE_LIMITED";
    case SX_E_AUTH:         return "SX_E_AUTH";
    case SX_E_NOT_FOUND:    return "SX_E_NOT_FOUND";
    case SX_E_CONFLICT:     return "SX_E_CONFLICT";
    case SX_E_REJECTED:     return "SX_E_REJECTED";
    case SX_E_PROTOCOL:     return "SX_E_PROTOCOL";
    case SX_E_UNSUPPORTED:  return "SX_E_UNSUPPORTED";
    case SX_E_LIMIT:        return "SX_E_LIMIT";
    case SX_E_INTERNAL:     return "SX_E_INTERNAL";
    case SX_E_SIGNATURE:    return "SX_E_SIGNATURE";
    case SX_E_STALE:        return "SX_E_STALE";
    default:                return "SX_E_UNKNOWN";
    }
}

/* Log levels for sx_host_api.log. */
enum {
    SX_LOG_ERROR = 0,
    SX_LOG_WARN  = 1,
    SX_LOG_INFO  = 2,
    SX_LOG_DEBUG = 3
};

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_ABI_H */
