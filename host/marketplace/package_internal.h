/*
 * Shared by package.c (reading, verifying) and pack.c (tooling). Not for other modules.
 */
#ifndef HUB_MARKETPLACE_PACKAGE_INTERNAL_H
#define HUB_MARKETPLACE_PACKAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "marketplace/package.h"

struct json_object;

/* How manifests, trust files and the index are written: two-space indentation, "a/b" unescaped. */
#define PKG_JSON_FLAGS \
    (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Read the regular file `name` relative to the folder `dfd` (AT_FDCWD and a path work too).
 * With `nofollow` a symbolic link is refused. At most `max` bytes. *out is malloc'd with a NUL
 * after the *out_len bytes (caller frees). `what` names the file in messages. Codes:
 * HUB_E_NOT_FOUND (absent), HUB_E_REJECTED (symlink, not a regular file), HUB_E_LIMIT,
 * HUB_E_IO, HUB_E_NOMEM. When `out_mode` is not NULL it gets st_mode.
 */
int  pkg_read_at(int dfd, const char *name, int nofollow, size_t max, const char *what,
                 char **out, size_t *out_len, unsigned *out_mode, struct hub_error *err);

/* "<a>/<b>" into out (cap), HUB_E_LIMIT with a sentence when it does not fit. */
int  pkg_join(char *out, size_t cap, const char *a, const char *b, struct hub_error *err);

/* Parse a JSON document of exactly `len` bytes, strict, UTF-8 validated, at most `depth`
 * levels. NULL when it is not one JSON value. */
struct json_object *pkg_json_parse(const char *text, size_t len, int depth);

/* hub_pkg_manifest_parse with the file-name rules optional (verify checks them after the
 * signature, so that an unsigned package is reported as unsigned first). */
int  pkg_manifest_parse(const char *text, size_t len, int check_names,
                        struct hub_pkg_manifest *out, struct hub_error *err);
/* The file-name rules of a parsed manifest: file and icon. */
int  pkg_manifest_check_names(const struct hub_pkg_manifest *m, struct hub_error *err);

/* SHA-256 (hex) and size of the regular file `name` under `dfd`, read with O_NOFOLLOW, at
 * most `max` bytes (HUB_E_LIMIT beyond). Codes as pkg_read_at. */
int  pkg_hash_at(int dfd, const char *name, int64_t max, const char *what, char hex[65],
                 int64_t *size, struct hub_error *err);

/* 1 when `s` is 1..64 characters of the publisher / key id alphabets. */
int  pkg_publisher_ok(const char *s);
int  pkg_key_id_ok(const char *s);

/* 1 and the raw public key in `raw` when `t` has publisher/key_id, else 0. */
int  pkg_trust_lookup(const struct hub_pkg_trust *t, const char *publisher, const char *key_id,
                      uint8_t raw[32]);

/* Names of SX_CFG_* kinds ("string", ...); NULL for an unknown kind. */
const char *pkg_cfg_kind_name(uint32_t kind);

#endif
