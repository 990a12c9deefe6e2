/*
 * Marketplace packages, the reading side: manifest parsing, trust files, verification of a
 * package folder, semver, index.json lookups. The tooling (keygen, pack, sign, index) is in
 * pack.c. Format: docs/MARKETPLACE.md "Package format".
 */
#include "marketplace/package.h"
#include "marketplace/package_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include <simplix/simplix.h>

#include "crypto/crypto.h"
#include "plugin/loader.h"

_Static_assert(SX_ENTITY__COUNT <= HUB_PKG_MAX_ENTITY, "HUB_PKG_MAX_ENTITY too small");
_Static_assert(HUB_PKG_MAX_CONFIG >= HUB_PLUGIN_MAX_CONFIG, "HUB_PKG_MAX_CONFIG too small");

#define SIG_LEN          64         /* Ed25519 */
#define SIG_FILE_MAX     256        /* base64 of 64 bytes is 88 characters */
#define MANIFEST_DEPTH   6          /* root -> config -> field -> value */
#define MAX_PLATFORMS    32
#define MAX_TOPICS       128
#define TOPIC_MAX        128
#define HELP_MAX         1023       /* the loader's bound on a config help text */

/* ---- small helpers -------------------------------------------------------------------------- */

int
pkg_join(char *out, size_t cap, const char *a, const char *b, struct hub_error *err)
{
    int n = snprintf(out, cap, "%s/%s", a, b);

    if (n < 0 || (size_t)n >= cap)
        return hub_error_set(err, HUB_E_LIMIT, "the path %s/%s is longer than %zu bytes", a, b,
                             cap - 1);
    return 0;
}

int
pkg_read_at(int dfd, const char *name, int nofollow, size_t max, const char *what, char **out,
            size_t *out_len, unsigned *out_mode, struct hub_error *err)
{
    struct stat st;
    char       *data;
    size_t      len = 0;
    int         fd, rc;

    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO in place of a file must not hang us in open(); fstat refuses it. */
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        if (errno == ENOENT)
            return hub_error_set(err, HUB_E_NOT_FOUND, "%s does not exist", what);
        if (errno == ELOOP && nofollow)
            return hub_error_set(err, HUB_E_REJECTED, "%s is a symbolic link; a package holds "
                                 "regular files only", what);
        return hub_error_set(err, HUB_E_IO, "%s cannot be opened: %s", what, strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "%s: fstat: %s", what, strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = hub_error_set(err, HUB_E_REJECTED, "%s is not a regular file", what);
        goto close_fd;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        rc = hub_error_set(err, HUB_E_LIMIT, "%s is larger than %zu bytes", what, max);
        goto close_fd;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "%s: out of memory", what);
        goto close_fd;
    }
    /* Read what fstat promised, and one byte more to notice a file that grew meanwhile. */
    for (;;) {
        size_t  room = (size_t)st.st_size - len;
        ssize_t n;
        char    extra;

        if (room == 0) {
            n = read(fd, &extra, 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n != 0) {
                rc = hub_error_set(err, HUB_E_IO, "%s changed while it was read", what);
                goto free_data;
            }
            break;
        }
        n = read(fd, data + len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hub_error_set(err, HUB_E_IO, "%s cannot be read: %s", what, strerror(errno));
            goto free_data;
        }
        if (n == 0) {
            rc = hub_error_set(err, HUB_E_IO, "%s changed while it was read", what);
            goto free_data;
        }
        len += (size_t)n;
    }
    data[len] = '\0';
    close(fd);
    *out = data;
    *out_len = len;
    if (out_mode != NULL)
        *out_mode = (unsigned)st.st_mode;
    return 0;

free_data:
    free(data);
close_fd:
    close(fd);
    return rc;
}

int
pkg_hash_at(int dfd, const char *name, int64_t max, const char *what, char hex[65],
            int64_t *size, struct hub_error *err)
{
    struct stat  st;
    EVP_MD_CTX  *ctx = NULL;
    unsigned char md[32];
    unsigned int md_len = 0;
    char        *buf = NULL;
    int64_t      total = 0;
    int          fd, rc;

    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return hub_error_set(err, HUB_E_REJECTED, "the package has no %s", what);
        if (errno == ELOOP)
            return hub_error_set(err, HUB_E_REJECTED, "%s is a symbolic link; a package holds "
                                 "regular files only", what);
        return hub_error_set(err, HUB_E_IO, "%s cannot be opened: %s", what, strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "%s: fstat: %s", what, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = hub_error_set(err, HUB_E_REJECTED, "%s is not a regular file", what);
        goto out;
    }
    if (st.st_size > max) {
        rc = hub_error_set(err, HUB_E_LIMIT, "%s is larger than %lld bytes", what,
                           (long long)max);
        goto out;
    }
    buf = malloc(64 * 1024);
    ctx = EVP_MD_CTX_new();
    if (buf == NULL || ctx == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "%s: out of memory", what);
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "%s: SHA-256 is unavailable", what);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, 64 * 1024);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hub_error_set(err, HUB_E_IO, "%s cannot be read: %s", what, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        total += n;
        if (total > max) {
            rc = hub_error_set(err, HUB_E_LIMIT, "%s is larger than %lld bytes", what,
                               (long long)max);
            goto out;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            rc = hub_error_set(err, HUB_E_CRYPTO, "%s: SHA-256 failed", what);
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != sizeof(md)) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "%s: SHA-256 failed", what);
        goto out;
    }
    rc = hub_crypto_hex_encode(md, sizeof(md), hex, 65);
    if (rc < 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "%s: hex overflow", what);
        goto out;
    }
    *size = total;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}

struct json_object *
pkg_json_parse(const char *text, size_t len, int depth)
{
    struct json_tokener *tok;
    struct json_object  *o;

    if (len == 0 || len > INT_MAX || memchr(text, '\0', len) != NULL)
        return NULL;
    tok = json_tokener_new_ex(depth);
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, text, (int)len);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        json_tokener_free(tok);
        return NULL;
    }
    /* Trailing white space (the newline the tools write) is fine; anything else is not. */
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            json_object_put(o);
            json_tokener_free(tok);
            return NULL;
        }
    }
    json_tokener_free(tok);
    return o;
}

/* A JSON string without NUL bytes: pointer and length, or -1. */
static int
jstr(struct json_object *v, const char **s, size_t *len)
{
    int n;

    if (v == NULL || !json_object_is_type(v, json_type_string))
        return -1;
    n = json_object_get_string_len(v);
    *s = json_object_get_string(v);
    if (n < 0 || *s == NULL || memchr(*s, '\0', (size_t)n) != NULL)
        return -1;
    *len = (size_t)n;
    return 0;
}

enum {
    CC_ID,          /* [a-z0-9_] */
    CC_PUBLISHER,   /* [a-z0-9_.-] */
    CC_KEY_ID,      /* [A-Za-z0-9_.-] */
    CC_LINE,        /* printable UTF-8, no control characters */
    CC_TEXT,        /* printable UTF-8, newlines and tabs too */
    CC_TOPIC        /* printable ASCII, no space */
};

static int
chars_ok(const char *s, size_t len, int cls)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int           lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';

        switch (cls) {
        case CC_ID:
            if (!lower)
                return 0;
            break;
        case CC_PUBLISHER:
            if (!lower && c != '.' && c != '-')
                return 0;
            break;
        case CC_KEY_ID:
            if (!lower && c != '.' && c != '-' && !(c >= 'A' && c <= 'Z'))
                return 0;
            break;
        case CC_LINE:
            if (c < 0x20 || c == 0x7f)
                return 0;
            break;
        case CC_TEXT:
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                return 0;
            break;
        default:
            if (c <= 0x20 || c >= 0x7f)
                return 0;
            break;
        }
    }
    return 1;
}

int
hub_pkg_id_valid(const char *id)
{
    size_t len;

    if (id == NULL)
        return 0;
    len = strnlen(id, 65);
    return len >= 1 && len <= 64 && chars_ok(id, len, CC_ID);
}

int
pkg_publisher_ok(const char *s)
{
    size_t len = s != NULL ? strnlen(s, 65) : 0;

    return len >= 1 && len <= 64 && chars_ok(s, len, CC_PUBLISHER);
}

int
pkg_key_id_ok(const char *s)
{
    size_t len = s != NULL ? strnlen(s, 65) : 0;

    return len >= 1 && len <= 64 && chars_ok(s, len, CC_KEY_ID);
}

const char *
pkg_cfg_kind_name(uint32_t kind)
{
    switch (kind) {
    case SX_CFG_STRING: return "string";
    case SX_CFG_SECRET: return "secret";
    case SX_CFG_URL:    return "url";
    case SX_CFG_INT:    return "int";
    case SX_CFG_BOOL:   return "bool";
    default:            return NULL;
    }
}

static const char *const auth_kinds[] = {
    "none", "oauth2_code", "client_credentials", "api_key", "basic"
};

/* ---- semver --------------------------------------------------------------------------------- */

struct semver {
    const char *core[3];
    size_t      core_len[3];
    const char *pre;            /* NULL when absent */
    size_t      pre_len;
};

static int
sv_num_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

static int
sv_all_digits(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* Dot-separated identifiers of [0-9A-Za-z-], none empty; numeric ones without leading zeros
 * when `pre`. */
static int
sv_idents_ok(const char *s, size_t len, int pre)
{
    size_t start = 0, i;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t n = i - start;

            if (n == 0)
                return 0;
            if (pre && n > 1 && s[start] == '0' && sv_all_digits(s + start, n))
                return 0;
            start = i + 1;
            continue;
        }
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return 0;
    }
    return 1;
}

static int
sv_parse(const char *v, struct semver *out)
{
    const char *plus, *dash, *p;
    size_t      len, core_end, i;
    int         part = 0;

    if (v == NULL)
        return -1;
    len = strnlen(v, 65);
    if (len == 0 || len > 64)
        return -1;
    plus = memchr(v, '+', len);
    if (plus != NULL && !sv_idents_ok(plus + 1, len - (size_t)(plus + 1 - v), 0))
        return -1;
    core_end = plus != NULL ? (size_t)(plus - v) : len;
    dash = memchr(v, '-', core_end);
    out->pre = NULL;
    out->pre_len = 0;
    if (dash != NULL) {
        out->pre = dash + 1;
        out->pre_len = core_end - (size_t)(dash + 1 - v);
        if (!sv_idents_ok(out->pre, out->pre_len, 1))
            return -1;
        core_end = (size_t)(dash - v);
    }
    p = v;
    for (i = 0; i <= core_end; i++) {
        if (i == core_end || v[i] == '.') {
            if (part >= 3)
                return -1;
            out->core[part] = p;
            out->core_len[part] = (size_t)(v + i - p);
            if (!sv_num_ok(p, out->core_len[part]))
                return -1;
            part++;
            p = v + i + 1;
        }
    }
    return part == 3 ? 0 : -1;
}

int
hub_pkg_semver_valid(const char *v)
{
    struct semver sv;

    return sv_parse(v, &sv) == 0;
}

/* Numbers without leading zeros: the longer is larger, else byte order. */
static int
sv_num_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c;

    if (alen != blen)
        return alen < blen ? -1 : 1;
    c = memcmp(a, b, alen);
    return c < 0 ? -1 : c > 0;
}

static int
sv_pre_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t ia = 0, ib = 0;

    /* semver 2.0.0 item 11: identifier by identifier; numeric < alphanumeric; a longer list
     * wins when every identifier before is equal. */
    while (ia < alen && ib < blen) {
        const char *ea = memchr(a + ia, '.', alen - ia);
        const char *eb = memchr(b + ib, '.', blen - ib);
        size_t      na = ea != NULL ? (size_t)(ea - (a + ia)) : alen - ia;
        size_t      nb = eb != NULL ? (size_t)(eb - (b + ib)) : blen - ib;
        int         da = sv_all_digits(a + ia, na), db = sv_all_digits(b + ib, nb);
        int         c;

        if (da && db) {
            c = sv_num_cmp(a + ia, na, b + ib, nb);
        } else if (da != db) {
            c = da ? -1 : 1;
        } else {
            c = memcmp(a + ia, b + ib, na < nb ? na : nb);
            if (c == 0 && na != nb)
                c = na < nb ? -1 : 1;
        }
        if (c != 0)
            return c < 0 ? -1 : 1;
        ia += na + 1;
        ib += nb + 1;
    }
    if (ia < alen)
        return 1;
    if (ib < blen)
        return -1;
    return 0;
}

int
hub_pkg_semver_cmp(const char *a, const char *b)
{
    struct semver sa, sb;
    int           va = sv_parse(a, &sa) == 0, vb = sv_parse(b, &sb) == 0;
    int           i, c;

    if (!va || !vb) {
        if (va != vb)
            return va ? 1 : -1;
        /* Two invalid versions: a stable order all the same. */
        c = strcmp(a != NULL ? a : "", b != NULL ? b : "");
        return c < 0 ? -1 : c > 0;
    }
    for (i = 0; i < 3; i++) {
        c = sv_num_cmp(sa.core[i], sa.core_len[i], sb.core[i], sb.core_len[i]);
        if (c != 0)
            return c;
    }
    if (sa.pre == NULL || sb.pre == NULL) {
        if (sa.pre == sb.pre)
            return 0;
        return sa.pre == NULL ? 1 : -1;        /* 1.0.0-rc.1 < 1.0.0 */
    }
    return sv_pre_cmp(sa.pre, sa.pre_len, sb.pre, sb.pre_len);
}

/* ---- SDK ABI -------------------------------------------------------------------------------- */

static int
abi_part(const char *s, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    size_t   i;

    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "MAJOR.MINOR", each 1..5 digits without leading zeros. */
static int
abi_parse(const char *s, size_t len, uint32_t *major, uint32_t *minor)
{
    const char *dot = memchr(s, '.', len);

    if (dot == NULL)
        return -1;
    if (abi_part(s, (size_t)(dot - s), major) < 0)
        return -1;
    return abi_part(dot + 1, len - (size_t)(dot + 1 - s), minor);
}

static int
abi_servable(uint32_t major, uint32_t minor)
{
    return major == SX_ABI_MAJOR && minor <= SX_ABI_MINOR;
}

int
hub_pkg_abi_compatible(const char *sdk_abi)
{
    uint32_t major, minor;

    if (sdk_abi == NULL || abi_parse(sdk_abi, strnlen(sdk_abi, 16), &major, &minor) < 0)
        return 0;
    return abi_servable(major, minor);
}

/* ---- manifest ------------------------------------------------------------------------------- */

static const char *const manifest_fields[] = {
    "format", "id", "display_name", "version", "publisher", "key_id", "sdk_abi", "auth_kind",
    "platforms", "entities", "webhooks", "webhook_topics", "config", "file", "sha256", "size",
    "description", "icon", "icon_sha256", "created_at", NULL
};

static int
bad(struct hub_error *err, const char *key, const char *rule)
{
    return hub_error_set(err, HUB_E_INVALID, "manifest.json: \"%s\" must be %s", key, rule);
}

/*
 * The string member `key`: present, a string of min..max bytes of class `cls`; copied to
 * `out` (cap > max) when not NULL. `rule` says what is wanted, for the message.
 */
static int
get_str(struct json_object *root, const char *key, size_t min, size_t max, int cls,
        char *out, size_t cap, const char *rule, struct hub_error *err)
{
    struct json_object *v;
    const char         *s;
    size_t              len;

    if (!json_object_object_get_ex(root, key, &v))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"%s\"", key);
    if (jstr(v, &s, &len) < 0 || len < min || len > max || !chars_ok(s, len, cls))
        return bad(err, key, rule);
    if (out != NULL) {
        if (len >= cap)
            return bad(err, key, rule);
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return 0;
}

static int
get_bool(struct json_object *root, const char *key, int *out, struct hub_error *err)
{
    struct json_object *v;

    if (!json_object_object_get_ex(root, key, &v))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"%s\"", key);
    if (!json_object_is_type(v, json_type_boolean))
        return bad(err, key, "true or false");
    *out = json_object_get_boolean(v) ? 1 : 0;
    return 0;
}

static int
sha256_hex_ok(const char *s)
{
    size_t i;

    for (i = 0; i < 64; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[64] == '\0';
}

/* "YYYY-MM-DDTHH:MM:SSZ" with plausible fields. */
static int
timestamp_ok(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t            i;
    int               mon, day, hour, min, sec;

    for (i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    if (s[i] != '\0')
        return 0;
    mon = (s[5] - '0') * 10 + (s[6] - '0');
    day = (s[8] - '0') * 10 + (s[9] - '0');
    hour = (s[11] - '0') * 10 + (s[12] - '0');
    min = (s[14] - '0') * 10 + (s[15] - '0');
    sec = (s[17] - '0') * 10 + (s[18] - '0');
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour <= 23 && min <= 59 &&
           sec <= 60;
}

/* An array of distinct strings, 0..max entries of 1..item_max bytes of class `cls`. */
static int
get_str_array(struct json_object *root, const char *key, size_t min_n, size_t max_n,
              size_t item_max, int cls, const char *rule, size_t *out_n, struct hub_error *err)
{
    struct json_object *arr;
    size_t              n, i, j;

    if (!json_object_object_get_ex(root, key, &arr))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"%s\"", key);
    if (!json_object_is_type(arr, json_type_array))
        return bad(err, key, rule);
    n = json_object_array_length(arr);
    if (n < min_n || n > max_n)
        return bad(err, key, rule);
    for (i = 0; i < n; i++) {
        const char *s;
        size_t      len;

        if (jstr(json_object_array_get_idx(arr, i), &s, &len) < 0 || len < 1 ||
            len > item_max || !chars_ok(s, len, cls))
            return bad(err, key, rule);
        for (j = 0; j < i; j++) {
            if (strcmp(json_object_get_string(json_object_array_get_idx(arr, j)), s) == 0)
                return hub_error_set(err, HUB_E_INVALID, "manifest.json: \"%s\" lists \"%s\" "
                                     "twice", key, s);
        }
    }
    if (out_n != NULL)
        *out_n = n;
    return 0;
}

static int
parse_entities(struct json_object *root, struct hub_pkg_manifest *m, struct hub_error *err)
{
    static const char        rule[] = "an object of entity names (customer, product, order, "
                                      "payment) to [\"import\"] / [\"export\"] / both";
    struct json_object      *ents;
    struct json_object_iterator it, end;
    size_t                   n = 0;

    if (!json_object_object_get_ex(root, "entities", &ents))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"entities\"");
    if (!json_object_is_type(ents, json_type_object))
        return bad(err, "entities", rule);
    it = json_object_iter_begin(ents);
    end = json_object_iter_end(ents);
    while (!json_object_iter_equal(&it, &end)) {
        const char         *name = json_object_iter_peek_name(&it);
        struct json_object *dirs = json_object_iter_peek_value(&it);
        uint32_t            e, bits = 0;
        size_t              i, nd;

        json_object_iter_next(&it);
        if (++n >= SX_ENTITY__COUNT)
            return bad(err, "entities", rule);
        for (e = SX_ENTITY_NONE + 1; e < SX_ENTITY__COUNT; e++) {
            if (strcmp(name, sx_entity_name(e)) == 0)
                break;
        }
        if (e >= SX_ENTITY__COUNT || !json_object_is_type(dirs, json_type_array))
            return bad(err, "entities", rule);
        nd = json_object_array_length(dirs);
        if (nd < 1 || nd > 2)
            return bad(err, "entities", rule);
        for (i = 0; i < nd; i++) {
            const char *s;
            size_t      len;
            uint32_t    bit;

            if (jstr(json_object_array_get_idx(dirs, i), &s, &len) < 0)
                return bad(err, "entities", rule);
            if (strcmp(s, "import") == 0)
                bit = SX_DIR_IMPORT;
            else if (strcmp(s, "export") == 0)
                bit = SX_DIR_EXPORT;
            else
                return bad(err, "entities", rule);
            if (bits & bit)
                return bad(err, "entities", rule);
            bits |= bit;
        }
        m->entity_dirs[e] = bits;
    }
    if (n == 0)
        return bad(err, "entities", rule);
    return 0;
}

static int
parse_config(struct json_object *root, struct hub_pkg_manifest *m, struct hub_error *err)
{
    static const char   rule[] = "an array of at most 64 {\"key\", \"kind\", \"required\", "
                                 "\"help\"} with distinct keys of [a-z0-9_]";
    struct json_object *arr;
    size_t              n, i, j;

    if (!json_object_object_get_ex(root, "config", &arr))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"config\"");
    if (!json_object_is_type(arr, json_type_array))
        return bad(err, "config", rule);
    n = json_object_array_length(arr);
    if (n > HUB_PKG_MAX_CONFIG)
        return bad(err, "config", rule);
    for (i = 0; i < n; i++) {
        struct json_object          *f = json_object_array_get_idx(arr, i), *v;
        struct hub_pkg_config_field *c = &m->config[i];
        const char                  *s;
        size_t                       len;
        uint32_t                     k;

        if (!json_object_is_type(f, json_type_object) || json_object_object_length(f) != 4)
            return bad(err, "config", rule);
        if (!json_object_object_get_ex(f, "key", &v) || jstr(v, &s, &len) < 0 || len < 1 ||
            len >= sizeof(c->key) || !chars_ok(s, len, CC_ID))
            return bad(err, "config", rule);
        memcpy(c->key, s, len);
        c->key[len] = '\0';
        if (!json_object_object_get_ex(f, "kind", &v) || jstr(v, &s, &len) < 0)
            return bad(err, "config", rule);
        for (k = SX_CFG_STRING; k <= SX_CFG_BOOL; k++) {
            if (strcmp(s, pkg_cfg_kind_name(k)) == 0)
                break;
        }
        if (k > SX_CFG_BOOL)
            return hub_error_set(err, HUB_E_INVALID, "manifest.json: config field \"%s\" has "
                                 "kind \"%s\" (want string, secret, url, int or bool)", c->key,
                                 s);
        c->kind = (uint8_t)k;
        if (!json_object_object_get_ex(f, "required", &v) ||
            !json_object_is_type(v, json_type_boolean))
            return bad(err, "config", rule);
        c->required = json_object_get_boolean(v) ? 1 : 0;
        if (!json_object_object_get_ex(f, "help", &v))
            return bad(err, "config", rule);
        if (!json_object_is_type(v, json_type_null) &&
            (jstr(v, &s, &len) < 0 || len > HELP_MAX || !chars_ok(s, len, CC_TEXT)))
            return bad(err, "config", rule);
        for (j = 0; j < i; j++) {
            if (strcmp(m->config[j].key, c->key) == 0)
                return hub_error_set(err, HUB_E_INVALID, "manifest.json: config field \"%s\" "
                                     "is listed twice", c->key);
        }
    }
    m->n_config = n;
    return 0;
}

/* A plain file name in the package folder: nothing that could reach outside it. */
static int
name_escapes(const char *name, const char *ext)
{
    size_t len = strlen(name), elen = strlen(ext);

    return len == 0 || name[0] == '.' || strchr(name, '/') != NULL ||
           strchr(name, '\\') != NULL || strstr(name, "..") != NULL || len <= elen ||
           strcmp(name + len - elen, ext) != 0;
}

int
pkg_manifest_check_names(const struct hub_pkg_manifest *m, struct hub_error *err)
{
    char   want[80];
    size_t len;

    if (name_escapes(m->file, ".so"))
        return hub_error_set(err, HUB_E_REJECTED, "the manifest's file \"%s\" is a path that "
                             "escapes the plugin folder", m->file);
    snprintf(want, sizeof(want), "%s.so", m->id);
    if (strcmp(m->file, want) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest's file \"%s\" must be \"%s\" "
                             "(the connector id and .so)", m->file, want);
    if (m->icon[0] == '\0')
        return 0;
    len = strlen(m->icon);
    if (name_escapes(m->icon, ".svg") && name_escapes(m->icon, ".png")) {
        /* Tell a path from a plain name of the wrong type. */
        if (m->icon[0] == '.' || strchr(m->icon, '/') != NULL ||
            strchr(m->icon, '\\') != NULL || strstr(m->icon, "..") != NULL)
            return hub_error_set(err, HUB_E_REJECTED, "the manifest's icon \"%s\" is a path "
                                 "that escapes the plugin folder", m->icon);
        return hub_error_set(err, HUB_E_REJECTED, "the manifest's icon \"%s\" is not a .svg "
                             "or .png file", m->icon);
    }
    if (!chars_ok(m->icon, len, CC_KEY_ID))
        return hub_error_set(err, HUB_E_REJECTED, "the manifest's icon \"%s\" must be a plain "
                             "file name of [A-Za-z0-9_.-]", m->icon);
    return 0;
}

static int
manifest_fields_parse(struct json_object *root, struct hub_pkg_manifest *m,
                      struct hub_error *err)
{
    struct json_object_iterator it, end;
    struct json_object         *v;
    size_t                      len, i;
    int                         rc;

    if (!json_object_is_type(root, json_type_object))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json is not a JSON object");
    it = json_object_iter_begin(root);
    end = json_object_iter_end(root);
    while (!json_object_iter_equal(&it, &end)) {
        const char *name = json_object_iter_peek_name(&it);

        for (i = 0; manifest_fields[i] != NULL; i++) {
            if (strcmp(name, manifest_fields[i]) == 0)
                break;
        }
        if (manifest_fields[i] == NULL)
            return hub_error_set(err, HUB_E_INVALID, "manifest.json has an unknown field "
                                 "\"%.64s\"", name);
        json_object_iter_next(&it);
    }

    if (!json_object_object_get_ex(root, "format", &v))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"format\"");
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != HUB_PKG_FORMAT)
        return hub_error_set(err, HUB_E_INVALID, "manifest.json is not format %d, the only "
                             "package format this hub reads", HUB_PKG_FORMAT);

    rc = get_str(root, "id", 1, 64, CC_ID, m->id, sizeof(m->id),
                 "1 to 64 characters of [a-z0-9_]", err);
    if (rc == 0)
        rc = get_str(root, "display_name", 1, 128, CC_LINE, m->display_name,
                     sizeof(m->display_name), "1 to 128 bytes of text on one line", err);
    if (rc == 0)
        rc = get_str(root, "version", 1, 64, CC_LINE, m->version, sizeof(m->version),
                     "a semantic version (MAJOR.MINOR.PATCH)", err);
    if (rc == 0 && !hub_pkg_semver_valid(m->version))
        rc = bad(err, "version", "a semantic version (MAJOR.MINOR.PATCH)");
    if (rc < 0)
        return rc;

    /* publisher and key_id: both "" in an unsigned package, both set once signed. */
    rc = get_str(root, "publisher", 0, 64, CC_PUBLISHER, m->publisher, sizeof(m->publisher),
                 "1 to 64 characters of [a-z0-9_.-]", err);
    if (rc == 0)
        rc = get_str(root, "key_id", 0, 64, CC_KEY_ID, m->key_id, sizeof(m->key_id),
                     "1 to 64 characters of [A-Za-z0-9_.-]", err);
    if (rc < 0)
        return rc;
    if ((m->publisher[0] == '\0') != (m->key_id[0] == '\0'))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json: \"publisher\" and \"key_id\" "
                             "must both be set (signed) or both be empty (unsigned)");

    rc = get_str(root, "sdk_abi", 3, 11, CC_LINE, m->sdk_abi, sizeof(m->sdk_abi),
                 "an SDK ABI version such as \"1.2\"", err);
    if (rc == 0 && abi_parse(m->sdk_abi, strlen(m->sdk_abi), &m->abi_major, &m->abi_minor) < 0)
        rc = bad(err, "sdk_abi", "an SDK ABI version such as \"1.2\"");
    if (rc == 0)
        rc = get_str(root, "auth_kind", 1, sizeof(m->auth_kind) - 1, CC_ID, m->auth_kind,
                     sizeof(m->auth_kind), "none, oauth2_code, client_credentials, api_key or "
                     "basic", err);
    if (rc < 0)
        return rc;
    for (i = 0; i < sizeof(auth_kinds) / sizeof(auth_kinds[0]); i++) {
        if (strcmp(m->auth_kind, auth_kinds[i]) == 0)
            break;
    }
    if (i == sizeof(auth_kinds) / sizeof(auth_kinds[0]))
        return bad(err, "auth_kind", "none, oauth2_code, client_credentials, api_key or basic");

    rc = get_str_array(root, "platforms", 1, MAX_PLATFORMS, 64, CC_PUBLISHER,
                       "an array of 1 to 32 distinct names of [a-z0-9_.-]", NULL, err);
    if (rc == 0)
        rc = parse_entities(root, m, err);
    if (rc == 0)
        rc = get_bool(root, "webhooks", &m->webhooks, err);
    if (rc == 0)
        rc = get_str_array(root, "webhook_topics", 0, MAX_TOPICS, TOPIC_MAX, CC_TOPIC,
                           "an array of at most 128 distinct topics (printable, no spaces)",
                           &len, err);
    if (rc < 0)
        return rc;
    if (len > 0 && !m->webhooks)
        return hub_error_set(err, HUB_E_INVALID, "manifest.json lists webhook topics but "
                             "\"webhooks\" is false");
    rc = parse_config(root, m, err);
    if (rc == 0)
        rc = get_str(root, "file", 1, 128, CC_LINE, m->file, sizeof(m->file),
                     "the connector's file name, <id>.so", err);
    if (rc == 0)
        rc = get_str(root, "sha256", 64, 64, CC_ID, m->sha256, sizeof(m->sha256),
                     "64 lowercase hexadecimal digits", err);
    if (rc == 0 && !sha256_hex_ok(m->sha256))
        rc = bad(err, "sha256", "64 lowercase hexadecimal digits");
    if (rc < 0)
        return rc;

    if (!json_object_object_get_ex(root, "size", &v))
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has no \"size\"");
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
        json_object_get_int64(v) > HUB_PKG_SO_MAX)
        return bad(err, "size", "the .so's size in bytes, 1 to 67108864");
    m->size = json_object_get_int64(v);

    rc = get_str(root, "description", 0, HUB_PKG_DESC_MAX, CC_TEXT, NULL, 0,
                 "text of at most 2000 bytes", err);
    if (rc == 0)
        rc = get_str(root, "created_at", 20, 20, CC_LINE, m->created_at, sizeof(m->created_at),
                     "a UTC time such as \"2025-03-01T12:00:00Z\"", err);
    if (rc == 0 && !timestamp_ok(m->created_at))
        rc = bad(err, "created_at", "a UTC time such as \"2025-03-01T12:00:00Z\"");
    if (rc < 0)
        return rc;

    /* The icon is optional; when present its SHA-256 is too, so the signature covers it. */
    if (json_object_object_get_ex(root, "icon", &v) && !json_object_is_type(v, json_type_null)) {
        rc = get_str(root, "icon", 1, 128, CC_LINE, m->icon, sizeof(m->icon),
                     "the icon's file name in the package", err);
        if (rc == 0)
            rc = get_str(root, "icon_sha256", 64, 64, CC_ID, m->icon_sha256,
                         sizeof(m->icon_sha256), "the icon's SHA-256, 64 lowercase "
                         "hexadecimal digits", err);
        if (rc == 0 && !sha256_hex_ok(m->icon_sha256))
            rc = bad(err, "icon_sha256", "the icon's SHA-256, 64 lowercase hexadecimal digits");
        if (rc < 0)
            return rc;
    } else if (json_object_object_get_ex(root, "icon_sha256", &v) &&
               !json_object_is_type(v, json_type_null)) {
        return hub_error_set(err, HUB_E_INVALID, "manifest.json has \"icon_sha256\" but no "
                             "\"icon\"");
    }
    return 0;
}

int
pkg_manifest_parse(const char *text, size_t len, int check_names, struct hub_pkg_manifest *out,
                   struct hub_error *err)
{
    struct json_object *root;
    int                 rc;

    memset(out, 0, sizeof(*out));
    if (text == NULL || len == 0)
        return hub_error_set(err, HUB_E_INVALID, "manifest.json is empty");
    if (len > HUB_PKG_MANIFEST_MAX)
        return hub_error_set(err, HUB_E_INVALID, "manifest.json is %zu bytes, more than the "
                             "%d allowed", len, HUB_PKG_MANIFEST_MAX);
    root = pkg_json_parse(text, len, MANIFEST_DEPTH);
    if (root == NULL)
        return hub_error_set(err, HUB_E_INVALID, "manifest.json is not valid UTF-8 JSON");
    rc = manifest_fields_parse(root, out, err);
    json_object_put(root);
    if (rc == 0 && check_names)
        rc = pkg_manifest_check_names(out, err);
    if (rc == 0) {
        out->json = malloc(len + 1);
        if (out->json == NULL)
            rc = hub_error_set(err, HUB_E_NOMEM, "manifest.json: out of memory");
    }
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    memcpy(out->json, text, len);
    out->json[len] = '\0';
    out->json_len = len;
    return 0;
}

int
hub_pkg_manifest_parse(const char *text, size_t len, struct hub_pkg_manifest *out,
                       struct hub_error *err)
{
    return pkg_manifest_parse(text, len, 1, out, err);
}

void
hub_pkg_manifest_free(struct hub_pkg_manifest *m)
{
    if (m == NULL)
        return;
    free(m->json);
    memset(m, 0, sizeof(*m));
}

/* ---- trust ---------------------------------------------------------------------------------- */

struct trust_key {
    char      publisher[65];
    char      key_id[65];
    uint8_t   raw[32];
    EVP_PKEY *pkey;
};

struct hub_pkg_trust {
    size_t           n;
    struct trust_key keys[HUB_PKG_TRUST_KEYS];
};

void
hub_pkg_trust_free(struct hub_pkg_trust *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++)
        EVP_PKEY_free(t->keys[i].pkey);
    free(t);
}

size_t
hub_pkg_trust_count(const struct hub_pkg_trust *t)
{
    return t != NULL ? t->n : 0;
}

static int
trust_entry(struct json_object *e, size_t idx, struct trust_key *k, const char *path,
            struct hub_error *err)
{
    struct json_object_iterator it, end;
    struct json_object         *v;
    const char                 *s;
    size_t                      len, n = 0;

    if (!json_object_is_type(e, json_type_object))
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] is not an object",
                             path, idx);
    /* publisher, key_id, public_key, and an optional "comment" for the operator. */
    it = json_object_iter_begin(e);
    end = json_object_iter_end(e);
    while (!json_object_iter_equal(&it, &end)) {
        const char *name = json_object_iter_peek_name(&it);

        if (strcmp(name, "publisher") != 0 && strcmp(name, "key_id") != 0 &&
            strcmp(name, "public_key") != 0 && strcmp(name, "comment") != 0)
            return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] has an unknown "
                                 "field \"%.64s\"", path, idx, name);
        json_object_iter_next(&it);
    }
    if (!json_object_object_get_ex(e, "publisher", &v) || jstr(v, &s, &len) < 0 ||
        len < 1 || len > 64 || !chars_ok(s, len, CC_PUBLISHER))
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] needs a \"publisher\" "
                             "of 1 to 64 characters of [a-z0-9_.-]", path, idx);
    memcpy(k->publisher, s, len);
    k->publisher[len] = '\0';
    if (!json_object_object_get_ex(e, "key_id", &v) || jstr(v, &s, &len) < 0 || len < 1 ||
        len > 64 || !chars_ok(s, len, CC_KEY_ID))
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] needs a \"key_id\" of "
                             "1 to 64 characters of [A-Za-z0-9_.-]", path, idx);
    memcpy(k->key_id, s, len);
    k->key_id[len] = '\0';
    if (json_object_object_get_ex(e, "comment", &v) && !json_object_is_type(v, json_type_string))
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] has a \"comment\" that "
                             "is not a string", path, idx);
    if (!json_object_object_get_ex(e, "public_key", &v) || jstr(v, &s, &len) < 0 ||
        hub_crypto_b64_decode(s, len, HUB_B64_STD, k->raw, sizeof(k->raw), &n, NULL) < 0 ||
        n != sizeof(k->raw))
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] (%s/%s) needs a "
                             "\"public_key\" that is the base64 of a 32-byte Ed25519 public key",
                             path, idx, k->publisher, k->key_id);
    k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->raw, sizeof(k->raw));
    if (k->pkey == NULL)
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s: keys[%zu] (%s/%s) is not a "
                             "usable Ed25519 public key", path, idx, k->publisher, k->key_id);
    return 0;
}

int
hub_pkg_trust_load(const char *path, struct hub_pkg_trust **out, struct hub_error *err)
{
    struct hub_pkg_trust *t;
    struct json_object   *root = NULL, *keys;
    char                 *text = NULL;
    size_t                len = 0, n, i, j;
    unsigned              mode = 0;
    int                   rc;

    *out = NULL;
    rc = pkg_read_at(AT_FDCWD, path, 0, HUB_PKG_TRUST_MAX, path, &text, &len, &mode, err);
    if (rc == HUB_E_NOT_FOUND)
        return hub_error_set(err, HUB_E_NOT_FOUND, "the trust file %s does not exist (create "
                             "it with `simplix-hub marketplace keygen --trust` or `marketplace "
                             "trust`)", path);
    if (rc < 0)
        return hub_error_prefix(err, "trust file");
    /* Whoever can write the trust file decides which code the hub runs. */
    if (mode & S_IWOTH) {
        free(text);
        return hub_error_set(err, HUB_E_CONFIG, "trust file %s is writable by others; "
                             "`chmod o-w` it", path);
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        free(text);
        return hub_error_set(err, HUB_E_NOMEM, "trust file %s: out of memory", path);
    }
    root = pkg_json_parse(text, len, 4);
    free(text);
    if (root == NULL || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        rc = hub_error_set(err, HUB_E_CONFIG, "trust file %s is not a JSON object with a "
                           "\"keys\" array", path);
        goto fail;
    }
    n = json_object_array_length(keys);
    if (n > HUB_PKG_TRUST_KEYS) {
        rc = hub_error_set(err, HUB_E_CONFIG, "trust file %s has %zu keys, more than %d", path,
                           n, HUB_PKG_TRUST_KEYS);
        goto fail;
    }
    for (i = 0; i < n; i++) {
        struct trust_key *k = &t->keys[i];

        rc = trust_entry(json_object_array_get_idx(keys, i), i, k, path, err);
        if (k->pkey != NULL)
            t->n = i + 1;
        if (rc < 0)
            goto fail;
        for (j = 0; j < i; j++) {
            if (strcmp(t->keys[j].publisher, k->publisher) == 0 &&
                strcmp(t->keys[j].key_id, k->key_id) == 0 &&
                memcmp(t->keys[j].raw, k->raw, sizeof(k->raw)) != 0) {
                rc = hub_error_set(err, HUB_E_CONFIG, "trust file %s lists %s/%s twice with "
                                   "different keys", path, k->publisher, k->key_id);
                goto fail;
            }
        }
    }
    json_object_put(root);
    *out = t;
    return 0;

fail:
    json_object_put(root);
    hub_pkg_trust_free(t);
    return rc;
}

static const struct trust_key *
trust_find(const struct hub_pkg_trust *t, const char *publisher, const char *key_id)
{
    size_t i;

    if (t == NULL)
        return NULL;
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i].publisher, publisher) == 0 &&
            strcmp(t->keys[i].key_id, key_id) == 0)
            return &t->keys[i];
    }
    return NULL;
}

int
pkg_trust_lookup(const struct hub_pkg_trust *t, const char *publisher, const char *key_id,
                 uint8_t raw[32])
{
    const struct trust_key *k = trust_find(t, publisher, key_id);

    if (k == NULL)
        return 0;
    memcpy(raw, k->raw, sizeof(k->raw));
    return 1;
}

/* ---- verification --------------------------------------------------------------------------- */

static int
signature_check(const struct trust_key *k, const char *sig_text, size_t sig_len,
                const struct hub_pkg_manifest *m, struct hub_error *err)
{
    uint8_t     sig[SIG_LEN + 4];
    size_t      n = 0;
    EVP_MD_CTX *ctx;
    int         ok;

    /* One line: the base64 and at most one line ending. */
    if (sig_len > 0 && sig_text[sig_len - 1] == '\n')
        sig_len--;
    if (sig_len > 0 && sig_text[sig_len - 1] == '\r')
        sig_len--;
    if (hub_crypto_b64_decode(sig_text, sig_len, HUB_B64_STD, sig, sizeof(sig), &n, NULL) < 0 ||
        n != SIG_LEN)
        return hub_error_set(err, HUB_E_SIGNATURE, "manifest.sig is not an Ed25519 signature "
                             "(64 bytes in base64 on one line)");
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory verifying the signature");
    /* Ed25519 is a one-shot signature: no digest (NULL md), the whole message at once. */
    ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, SIG_LEN, (const unsigned char *)m->json, m->json_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return hub_error_set(err, HUB_E_SIGNATURE, "the package signature does not verify: the "
                             "manifest was changed or signed by another key");
    return 0;
}

static const char *
dirs_name(uint32_t d)
{
    switch (d) {
    case 0:                             return "absent";
    case SX_DIR_IMPORT:                 return "import";
    case SX_DIR_EXPORT:                 return "export";
    default:                            return "import and export";
    }
}

/* The manifest against the connector's own descriptor. */
static int
descriptor_check(const struct hub_pkg_manifest *m, const struct hub_plugin *p,
                 struct hub_error *err)
{
    uint32_t dirs[HUB_PKG_MAX_ENTITY] = { 0 };
    char     abi[32];
    size_t   i, n;

    if (strcmp(p->id, m->id) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says id %s but the connector "
                             "says %s", m->id, p->id);
    if (strcmp(p->desc.version, m->version) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says version %s but the "
                             "connector says %s", m->version, p->desc.version);
    snprintf(abi, sizeof(abi), "%u.%u", p->abi_major, p->abi_minor);
    if (strcmp(abi, m->sdk_abi) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says SDK ABI %s but the "
                             "connector was built for %s", m->sdk_abi, abi);
    if (strcmp(p->desc.display_name, m->display_name) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says display name \"%s\" but "
                             "the connector says \"%.128s\"", m->display_name,
                             p->desc.display_name);
    if (strcmp(hub_auth_kind_name(p->desc.auth_kind), m->auth_kind) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says auth kind %s but the "
                             "connector says %s", m->auth_kind,
                             hub_auth_kind_name(p->desc.auth_kind));
    for (i = 0; i < p->n_entities; i++) {
        if (p->entities[i].entity < HUB_PKG_MAX_ENTITY)
            dirs[p->entities[i].entity] = p->entities[i].directions;
    }
    for (i = SX_ENTITY_NONE + 1; i < SX_ENTITY__COUNT; i++) {
        if (dirs[i] != m->entity_dirs[i])
            return hub_error_set(err, HUB_E_REJECTED, "the manifest says entity %s is %s but "
                                 "the connector says %s", sx_entity_name((uint32_t)i),
                                 dirs_name(m->entity_dirs[i]), dirs_name(dirs[i]));
    }
    if (p->has_webhook != m->webhooks)
        return hub_error_set(err, HUB_E_REJECTED, "the manifest says webhooks %s but the "
                             "connector says %s", m->webhooks ? "true" : "false",
                             p->has_webhook ? "true" : "false");
    n = p->n_config > m->n_config ? p->n_config : m->n_config;
    for (i = 0; i < n; i++) {
        const sx_config_field             *f = i < p->n_config ? &p->desc.config[i] : NULL;
        const struct hub_pkg_config_field *c = i < m->n_config ? &m->config[i] : NULL;

        if (c == NULL)
            return hub_error_set(err, HUB_E_REJECTED, "the connector has config field %s that "
                                 "the manifest does not list", f->key);
        if (f == NULL)
            return hub_error_set(err, HUB_E_REJECTED, "the manifest lists config field %s that "
                                 "the connector does not have", c->key);
        if (strcmp(f->key, c->key) != 0)
            return hub_error_set(err, HUB_E_REJECTED, "the manifest lists config field %s "
                                 "where the connector has %s", c->key, f->key);
        if (f->kind != c->kind || ((f->flags & SX_CFG_REQUIRED) != 0) != c->required)
            return hub_error_set(err, HUB_E_REJECTED, "the manifest says config field %s is "
                                 "a%s %s but the connector says a%s %s", c->key,
                                 c->required ? " required" : "n optional",
                                 pkg_cfg_kind_name(c->kind),
                                 (f->flags & SX_CFG_REQUIRED) ? " required" : "n optional",
                                 pkg_cfg_kind_name(f->kind));
    }
    return 0;
}

static int
verify_files(int dfd, const char *dir, const struct hub_pkg_trust *trust, int check_descriptor,
             struct hub_pkg_manifest *m, struct hub_error *err)
{
    const struct trust_key *k;
    struct hub_plugin      *p;
    char                   *sig = NULL, hex[65], path[PATH_MAX];
    size_t                  sig_len = 0;
    int64_t                 size = 0;
    int                     rc;

    rc = pkg_read_at(dfd, "manifest.sig", 1, SIG_FILE_MAX, "manifest.sig", &sig, &sig_len, NULL,
                     err);
    if (rc == HUB_E_NOT_FOUND)
        return hub_error_set(err, HUB_E_SIGNATURE, "the package is not signed (no "
                             "manifest.sig)");
    if (rc == HUB_E_LIMIT)
        return hub_error_set(err, HUB_E_SIGNATURE, "manifest.sig is not an Ed25519 signature "
                             "(64 bytes in base64 on one line)");
    if (rc < 0)
        return rc;
    if (m->publisher[0] == '\0') {
        free(sig);
        return hub_error_set(err, HUB_E_SIGNATURE, "the package is not signed (manifest.json "
                             "names no publisher and key_id)");
    }
    k = trust_find(trust, m->publisher, m->key_id);
    if (k == NULL) {
        free(sig);
        return hub_error_set(err, HUB_E_SIGNATURE, "publisher %s key %s is not trusted by this "
                             "hub", m->publisher, m->key_id);
    }
    rc = signature_check(k, sig, sig_len, m, err);
    free(sig);
    if (rc < 0)
        return rc;

    /* Signed by a trusted key from here on; still, trust no name. */
    rc = pkg_manifest_check_names(m, err);
    if (rc < 0)
        return rc;
    rc = pkg_hash_at(dfd, m->file, HUB_PKG_SO_MAX, m->file, hex, &size, err);
    if (rc == HUB_E_LIMIT || (rc == 0 && (size != m->size || strcmp(hex, m->sha256) != 0)))
        return hub_error_set(err, HUB_E_REJECTED, "the .so does not match the manifest's "
                             "SHA-256");
    if (rc < 0)
        return rc;
    if (m->icon[0] != '\0') {
        rc = pkg_hash_at(dfd, m->icon, HUB_PKG_ICON_MAX, m->icon, hex, &size, err);
        if (rc == HUB_E_LIMIT)
            return hub_error_set(err, HUB_E_REJECTED, "the icon %s is larger than %d bytes",
                                 m->icon, HUB_PKG_ICON_MAX);
        if (rc == 0 && strcmp(hex, m->icon_sha256) != 0)
            return hub_error_set(err, HUB_E_REJECTED, "the icon does not match the manifest's "
                                 "icon_sha256");
        if (rc < 0)
            return rc;
    }
    if (!abi_servable(m->abi_major, m->abi_minor))
        return hub_error_set(err, HUB_E_PLUGIN_ABI, "the package was built for SDK ABI %s; this "
                             "hub serves %u.0 to %u.%u", m->sdk_abi, SX_ABI_MAJOR, SX_ABI_MAJOR,
                             SX_ABI_MINOR);
    if (!check_descriptor)
        return 0;

    rc = pkg_join(path, sizeof(path), dir, m->file, err);
    if (rc < 0)
        return rc;
    rc = hub_plugin_load(path, m->id, &p, err);
    if (rc < 0)
        return rc;
    rc = descriptor_check(m, p, err);
    hub_plugin_unload(p);
    return rc;
}

int
hub_pkg_verify_dir(const char *dir, const struct hub_pkg_trust *trust, int check_descriptor,
                   struct hub_pkg_manifest *out, struct hub_error *err)
{
    char  *text = NULL;
    size_t len = 0;
    int    dfd, rc;

    memset(out, 0, sizeof(*out));
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return hub_error_set(err, HUB_E_NOT_FOUND, "the package folder %s does not exist",
                                 dir);
        return hub_error_set(err, HUB_E_IO, "the package folder %s cannot be opened: %s", dir,
                             strerror(errno));
    }
    rc = pkg_read_at(dfd, "manifest.json", 1, HUB_PKG_MANIFEST_MAX, "manifest.json", &text, &len,
                     NULL, err);
    if (rc == HUB_E_NOT_FOUND) {
        rc = hub_error_set(err, HUB_E_INVALID, "the package has no manifest.json");
        goto close_dir;
    }
    if (rc == HUB_E_LIMIT) {
        rc = hub_error_set(err, HUB_E_INVALID, "manifest.json is larger than %d bytes",
                           HUB_PKG_MANIFEST_MAX);
        goto close_dir;
    }
    if (rc < 0)
        goto close_dir;
    /* File names are checked after the signature: an unsigned package is "not signed" first. */
    rc = pkg_manifest_parse(text, len, 0, out, err);
    free(text);
    if (rc < 0)
        goto close_dir;
    rc = verify_files(dfd, dir, trust, check_descriptor, out, err);
    if (rc < 0)
        hub_pkg_manifest_free(out);
close_dir:
    close(dfd);
    return rc;
}

int
hub_pkg_copy_verified(const char *pkg_dir, const struct hub_pkg_manifest *m,
                      const char *dest_path, struct hub_error *err)
{
    char   *data = NULL, hex[65];
    size_t  len = 0;
    int     dfd, rc;

    if (name_escapes(m->file, ".so"))
        return hub_error_set(err, HUB_E_REJECTED, "the manifest's file \"%s\" is a path that "
                             "escapes the plugin folder", m->file);
    dfd = open(pkg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return hub_error_set(err, HUB_E_IO, "the package folder %s cannot be opened: %s",
                             pkg_dir, strerror(errno));
    rc = pkg_read_at(dfd, m->file, 1, HUB_PKG_SO_MAX, m->file, &data, &len, NULL, err);
    close(dfd);
    if (rc == HUB_E_LIMIT)
        return hub_error_set(err, HUB_E_REJECTED, "the .so does not match the manifest's "
                             "SHA-256");
    if (rc < 0)
        return rc;
    /* Hash the very bytes that are written: a file swapped after verification is caught. */
    if (hub_crypto_sha256_hex(data, len, hex) < 0) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "SHA-256 is unavailable");
        goto free_data;
    }
    if ((int64_t)len != m->size || strcmp(hex, m->sha256) != 0) {
        rc = hub_error_set(err, HUB_E_REJECTED, "the .so does not match the manifest's "
                           "SHA-256");
        goto free_data;
    }
    rc = hub_pkg_write_file(dest_path, data, len, 0644, err);
free_data:
    free(data);
    return rc;
}

/* ---- index.json ----------------------------------------------------------------------------- */

int
hub_pkg_index_load(const char *marketplace_dir, struct json_object **out, struct hub_error *err)
{
    struct json_object *root, *pkgs, *fmt;
    char                path[PATH_MAX], *text = NULL;
    size_t              len = 0;
    int                 rc;

    *out = NULL;
    rc = pkg_join(path, sizeof(path), marketplace_dir, "index.json", err);
    if (rc < 0)
        return rc;
    rc = pkg_read_at(AT_FDCWD, path, 0, HUB_PKG_INDEX_MAX, path, &text, &len, NULL, err);
    if (rc == HUB_E_NOT_FOUND)
        return hub_error_set(err, HUB_E_NOT_FOUND, "the marketplace %s has no index.json (run "
                             "`simplix-hub marketplace index %s`)", marketplace_dir,
                             marketplace_dir);
    if (rc < 0)
        return rc;
    root = pkg_json_parse(text, len, 8);
    free(text);
    if (root == NULL || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "format", &fmt) ||
        !json_object_is_type(fmt, json_type_int) ||
        json_object_get_int64(fmt) != HUB_PKG_FORMAT ||
        !json_object_object_get_ex(root, "packages", &pkgs) ||
        !json_object_is_type(pkgs, json_type_array)) {
        json_object_put(root);
        return hub_error_set(err, HUB_E_INVALID, "%s is not a format %d marketplace index "
                             "(an object with a \"packages\" array)", path, HUB_PKG_FORMAT);
    }
    *out = root;
    return 0;
}

/* A string member of `o`, or NULL. */
static const char *
member_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    const char         *s;
    size_t              len;

    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        jstr(v, &s, &len) < 0)
        return NULL;
    return s;
}

int
hub_pkg_find(const char *marketplace_dir, const char *id, const char *version, char *dir_out,
             size_t cap, struct hub_error *err)
{
    struct json_object *root, *pkgs, *vers = NULL;
    const char         *best = NULL, *best_path = NULL;
    char                want[160];
    size_t              i, n;
    int                 rc, any = 0;

    if (!hub_pkg_id_valid(id))
        return hub_error_set(err, HUB_E_INVALID, "\"%.64s\" is not a connector id ([a-z0-9_], "
                             "1 to 64 characters)", id != NULL ? id : "");
    if (version != NULL && !hub_pkg_semver_valid(version))
        return hub_error_set(err, HUB_E_INVALID, "\"%.64s\" is not a semantic version "
                             "(MAJOR.MINOR.PATCH)", version);
    rc = hub_pkg_index_load(marketplace_dir, &root, err);
    if (rc < 0)
        return rc;
    json_object_object_get_ex(root, "packages", &pkgs);
    n = json_object_array_length(pkgs);
    for (i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(pkgs, i);
        const char         *pid = member_str(p, "id");

        if (pid == NULL || strcmp(pid, id) != 0)
            continue;
        if (!json_object_object_get_ex(p, "versions", &vers) ||
            !json_object_is_type(vers, json_type_array)) {
            rc = hub_error_set(err, HUB_E_INVALID, "index.json: package %s has no \"versions\" "
                               "array", id);
            goto out;
        }
        break;
    }
    if (i == n) {
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "the marketplace has no package %s", id);
        goto out;
    }
    n = json_object_array_length(vers);
    for (i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(vers, i);
        const char         *ver = member_str(v, "version");
        const char         *abi = member_str(v, "sdk_abi");
        const char         *path = member_str(v, "path");

        if (ver == NULL || !hub_pkg_semver_valid(ver))
            continue;
        if (version != NULL) {
            if (strcmp(ver, version) != 0)
                continue;
        } else {
            any = 1;
            if (abi == NULL || !hub_pkg_abi_compatible(abi))
                continue;
            if (best != NULL && hub_pkg_semver_cmp(ver, best) <= 0)
                continue;
        }
        best = ver;
        best_path = path;
        if (version != NULL)
            break;
    }
    if (best == NULL) {
        if (version != NULL)
            rc = hub_error_set(err, HUB_E_NOT_FOUND, "the marketplace has no version %s of %s",
                               version, id);
        else if (any)
            rc = hub_error_set(err, HUB_E_NOT_FOUND, "the marketplace has no version of %s that "
                               "this hub can serve (SDK ABI %u.0 to %u.%u)", id, SX_ABI_MAJOR,
                               SX_ABI_MAJOR, SX_ABI_MINOR);
        else
            rc = hub_error_set(err, HUB_E_NOT_FOUND, "the marketplace has no version of %s", id);
        goto out;
    }
    /* The index is outside input: the folder is derived from the id and version, and the
     * index's path must name that very folder. */
    snprintf(want, sizeof(want), "packages/%s/%s", id, best);
    if (best_path == NULL || strcmp(best_path, want) != 0) {
        rc = hub_error_set(err, HUB_E_REJECTED, "index.json: %s %s has path \"%.200s\" instead of "
                           "\"%s\"", id, best, best_path != NULL ? best_path : "", want);
        goto out;
    }
    rc = pkg_join(dir_out, cap, marketplace_dir, want, err);
out:
    json_object_put(root);
    return rc;
}
