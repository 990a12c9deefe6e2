#include "crypto/crypto.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Longest key-file line we accept: an id, a colon, 64 hex digits, some blanks. */
#define KEYFILE_LINE_MAX 256
/* Fixed part of a blob: version, id_len, nonce, tag. */
#define BLOB_FIXED (2 + HUB_CRYPTO_NONCE_LEN + HUB_CRYPTO_TAG_LEN)

/* ---- primitives ------------------------------------------------------------------------- */

void
hub_crypto_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

void
hub_crypto_free_secret(void *p, size_t len)
{
    if (p == NULL)
        return;
    hub_crypto_wipe(p, len);
    free(p);
}

int
hub_crypto_random(void *out, size_t len)
{
    unsigned char *p = out;

    /* RAND_bytes takes an int: feed it in chunks. */
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;

        if (RAND_bytes(p, n) != 1)
            return HUB_E_CRYPTO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
hub_crypto_consttime_eq(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return 0;
    if (a_len == 0)
        return 1;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

int
hub_crypto_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    static const uint8_t empty = 0;

    if (EVP_Digest(len > 0 ? data : &empty, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return HUB_E_CRYPTO;
    return 0;
}

int
hub_crypto_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    int     rc;

    rc = hub_crypto_sha256(data, len, md);
    if (rc < 0)
        return rc;
    return hub_crypto_hex_encode(md, sizeof(md), out, 65);
}

int
hub_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       uint8_t out[32])
{
    static const uint8_t empty = 0;
    unsigned int         n = 0;

    if (key_len > INT_MAX)
        return HUB_E_CRYPTO;
    if (HMAC(EVP_sha256(), key_len > 0 ? key : &empty, (int)key_len,
             msg_len > 0 ? msg : &empty, msg_len, out, &n) == NULL || n != 32)
        return HUB_E_CRYPTO;
    return 0;
}

/* ---- hex -------------------------------------------------------------------------------- */

int
hub_crypto_hex_encode(const void *data, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t    *p = data;
    size_t            i;

    if (cap == 0 || len > (cap - 1) / 2) {
        if (cap > 0)
            out[0] = '\0';
        return HUB_E_LIMIT;
    }
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
    return 0;
}

int
hub_crypto_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                      struct hub_error *err)
{
    size_t i;

    if (out_len != NULL)
        *out_len = 0;
    if (len % 2 != 0)
        return hub_error_set(err, HUB_E_INVALID, "hex: odd length %zu", len);
    if (len / 2 > cap)
        return hub_error_set(err, HUB_E_LIMIT, "hex: %zu bytes do not fit in %zu", len / 2, cap);
    for (i = 0; i < len; i += 2) {
        int hi = hub_hex_digit(in[i]);
        int lo = hub_hex_digit(in[i + 1]);

        if (hi < 0 || lo < 0)
            return hub_error_set(err, HUB_E_INVALID, "hex: invalid character at offset %zu",
                                 hi < 0 ? i : i + 1);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    if (out_len != NULL)
        *out_len = len / 2;
    return 0;
}

/* ---- base64 ----------------------------------------------------------------------------- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
hub_crypto_b64_encoded_len(size_t len, int flags)
{
    size_t full = len / 3;
    size_t rest = len % 3;

    if (full > (SIZE_MAX - 4) / 4)
        return SIZE_MAX;
    if (rest == 0)
        return full * 4;
    if (flags & HUB_B64_NOPAD)
        return full * 4 + rest + 1;
    return full * 4 + 4;
}

size_t
hub_crypto_b64_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 > 1 ? len % 4 - 1 : 0);
}

int
hub_crypto_b64_encode(const void *data, size_t len, int flags, char *out, size_t cap,
                      size_t *out_len)
{
    const char    *alpha = (flags & HUB_B64_URL) ? b64_url : b64_std;
    const uint8_t *p = data;
    size_t         need = hub_crypto_b64_encoded_len(len, flags);
    size_t         i, o = 0;

    if (out_len != NULL)
        *out_len = 0;
    if (need == SIZE_MAX || cap == 0 || need > cap - 1) {
        if (cap > 0)
            out[0] = '\0';
        return HUB_E_LIMIT;
    }
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        out[o++] = alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;

        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        if (!(flags & HUB_B64_NOPAD)) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        if (!(flags & HUB_B64_NOPAD))
            out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return 0;
}

static int
b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int
hub_crypto_b64_decode(const char *in, size_t len, int flags, uint8_t *out, size_t cap,
                      size_t *out_len, struct hub_error *err)
{
    const char *flavour = (flags & HUB_B64_URL) ? "base64url" : "base64";
    int         url = (flags & HUB_B64_URL) != 0;
    size_t      data_len = len;
    size_t      npad = 0;
    size_t      need, i, o = 0;
    uint32_t    acc = 0;
    int         bits = 0;

    if (out_len != NULL)
        *out_len = 0;
    while (data_len > 0 && in[data_len - 1] == '=' && npad < 3) {
        data_len--;
        npad++;
    }
    if (npad > 0) {
        if (flags & HUB_B64_NOPAD)
            return hub_error_set(err, HUB_E_INVALID, "%s: padding not allowed here", flavour);
        if (npad > 2 || len % 4 != 0)
            return hub_error_set(err, HUB_E_INVALID, "%s: bad padding", flavour);
    } else if (!(flags & (HUB_B64_NOPAD | HUB_B64_PAD_OPTIONAL)) && len % 4 != 0) {
        return hub_error_set(err, HUB_E_INVALID, "%s: length %zu is not a multiple of 4 "
                             "(missing padding?)", flavour, len);
    }
    if (data_len % 4 == 1)
        return hub_error_set(err, HUB_E_INVALID, "%s: truncated input (length %zu)", flavour,
                             len);
    /* Padding must complete the last quantum exactly: "QQ==" yes, "QUI==" no. */
    if (npad > 0 && data_len % 4 + npad != 4)
        return hub_error_set(err, HUB_E_INVALID, "%s: bad padding", flavour);
    need = hub_crypto_b64_decoded_max(data_len);
    if (need > cap)
        return hub_error_set(err, HUB_E_LIMIT, "%s: %zu bytes do not fit in %zu", flavour,
                             need, cap);
    for (i = 0; i < data_len; i++) {
        int v = b64_value(in[i], url);

        if (v < 0)
            return hub_error_set(err, HUB_E_INVALID, "%s: invalid character at offset %zu",
                                 flavour, i);
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits (2 or 4) must be zero: one canonical encoding per value. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return hub_error_set(err, HUB_E_INVALID, "%s: non-canonical final character", flavour);
    if (out_len != NULL)
        *out_len = o;
    return 0;
}

/* ---- keyring ---------------------------------------------------------------------------- */

static int
key_id_valid(const char *id, size_t len)
{
    size_t i;

    if (len == 0 || len > HUB_CRYPTO_KEY_ID_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void
hub_crypto_keyring_wipe(struct hub_crypto_keyring *ring)
{
    if (ring != NULL)
        hub_crypto_wipe(ring, sizeof(*ring));
}

const char *
hub_crypto_keyring_active_id(const struct hub_crypto_keyring *ring)
{
    return ring->nkeys > 0 ? ring->keys[0].id : NULL;
}

static const struct hub_crypto_key *
keyring_find(const struct hub_crypto_keyring *ring, const char *id, size_t id_len)
{
    size_t i;

    for (i = 0; i < ring->nkeys && i < HUB_CRYPTO_MAX_KEYS; i++) {
        if (strlen(ring->keys[i].id) == id_len && memcmp(ring->keys[i].id, id, id_len) == 0)
            return &ring->keys[i];
    }
    return NULL;
}

int
hub_crypto_keyring_add(struct hub_crypto_keyring *ring, const char *id,
                       const uint8_t key[HUB_CRYPTO_KEY_LEN], int make_active,
                       struct hub_error *err)
{
    const struct hub_crypto_key *old;
    size_t                       id_len = strlen(id);

    if (!key_id_valid(id, id_len))
        return hub_error_set(err, HUB_E_INVALID, "key id must be 1..%d characters of "
                             "[A-Za-z0-9._-]", HUB_CRYPTO_KEY_ID_MAX);
    old = keyring_find(ring, id, id_len);
    if (old != NULL) {
        if (!hub_crypto_consttime_eq(old->key, HUB_CRYPTO_KEY_LEN, key, HUB_CRYPTO_KEY_LEN))
            return hub_error_set(err, HUB_E_CONFIG, "key id '%s' is given twice with "
                                 "different keys", id);
        return 0;
    }
    if (ring->nkeys >= HUB_CRYPTO_MAX_KEYS)
        return hub_error_set(err, HUB_E_LIMIT, "more than %d master keys", HUB_CRYPTO_MAX_KEYS);
    if (make_active) {
        memmove(&ring->keys[1], &ring->keys[0], ring->nkeys * sizeof(ring->keys[0]));
        memset(&ring->keys[0], 0, sizeof(ring->keys[0]));
    }
    {
        struct hub_crypto_key *k = &ring->keys[make_active ? 0 : ring->nkeys];

        memcpy(k->id, id, id_len);
        k->id[id_len] = '\0';
        memcpy(k->key, key, HUB_CRYPTO_KEY_LEN);
    }
    ring->nkeys++;
    return 0;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Decode the key part of a line: 64 hex digits, or base64 of either flavour. */
static int
decode_key(const char *s, size_t len, uint8_t key[HUB_CRYPTO_KEY_LEN])
{
    uint8_t tmp[48];
    size_t  n = 0;
    int     rc = HUB_E_INVALID;

    if (len == 2 * HUB_CRYPTO_KEY_LEN &&
        hub_crypto_hex_decode(s, len, tmp, sizeof(tmp), &n, NULL) == 0)
        rc = 0;
    else if (hub_crypto_b64_decode(s, len, HUB_B64_STD | HUB_B64_PAD_OPTIONAL, tmp,
                                   sizeof(tmp), &n, NULL) == 0)
        rc = 0;
    else if (hub_crypto_b64_decode(s, len, HUB_B64_URL | HUB_B64_PAD_OPTIONAL, tmp,
                                   sizeof(tmp), &n, NULL) == 0)
        rc = 0;
    if (rc == 0 && n != HUB_CRYPTO_KEY_LEN)
        rc = HUB_E_INVALID;
    if (rc == 0)
        memcpy(key, tmp, HUB_CRYPTO_KEY_LEN);
    hub_crypto_wipe(tmp, sizeof(tmp));
    return rc;
}

int
hub_crypto_keyring_parse(struct hub_crypto_keyring *ring, const char *text, size_t len,
                         const char *origin, struct hub_error *err)
{
    const char *p = text;
    const char *end = text + len;
    size_t      lineno = 0;
    uint8_t     key[HUB_CRYPTO_KEY_LEN];
    int         rc = 0;

    if (len > HUB_CRYPTO_KEYFILE_MAX)
        return hub_error_set(err, HUB_E_LIMIT, "%s: larger than %d bytes", origin,
                             HUB_CRYPTO_KEYFILE_MAX);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *b = p, *e = eol, *colon;
        char        id[HUB_CRYPTO_KEY_ID_MAX + 1];
        size_t      id_len = 0;

        lineno++;
        p = nl != NULL ? nl + 1 : end;
        while (b < e && is_blank(*b))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        if (b == e || *b == '#')
            continue;
        if (e - b > KEYFILE_LINE_MAX) {
            rc = hub_error_set(err, HUB_E_CONFIG, "%s line %zu: too long", origin, lineno);
            goto out;
        }
        colon = memchr(b, ':', (size_t)(e - b));
        if (colon == NULL) {
            rc = hub_error_set(err, HUB_E_CONFIG, "%s line %zu: expected keyid:key", origin,
                               lineno);
            goto out;
        }
        id_len = (size_t)(colon - b);
        if (!key_id_valid(b, id_len)) {
            rc = hub_error_set(err, HUB_E_CONFIG, "%s line %zu: key id must be 1..%d "
                               "characters of [A-Za-z0-9._-]", origin, lineno,
                               HUB_CRYPTO_KEY_ID_MAX);
            goto out;
        }
        memcpy(id, b, id_len);
        id[id_len] = '\0';
        if (decode_key(colon + 1, (size_t)(e - colon - 1), key) < 0) {
            rc = hub_error_set(err, HUB_E_CONFIG, "%s line %zu: key '%s' is not 32 bytes in "
                               "base64 or 64 hex digits", origin, lineno, id);
            goto out;
        }
        rc = hub_crypto_keyring_add(ring, id, key, 0, err);
        if (rc < 0) {
            hub_error_prefix(err, "%s line %zu", origin, lineno);
            goto out;
        }
    }
    if (ring->nkeys == 0)
        rc = hub_error_set(err, HUB_E_CONFIG, "%s: no key in it", origin);
out:
    hub_crypto_wipe(key, sizeof(key));
    return rc;
}

/* Read a whole small file that holds secrets. *out is malloc'ed; free with free_secret. */
static int
read_secret_file(const char *path, char **out, size_t *out_len, int check_mode,
                 struct hub_error *err)
{
    struct stat st;
    char       *data;
    size_t      len = 0;
    int         fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return hub_error_set(err, HUB_E_IO, "key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "key file %s: %s", path, strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = hub_error_set(err, HUB_E_CONFIG, "key file %s: not a regular file", path);
        goto close_fd;
    }
    if (check_mode && (st.st_mode & 077) != 0) {
        rc = hub_error_set(err, HUB_E_CONFIG, "key file %s: mode %04o lets other users read "
                           "it; run chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
        goto close_fd;
    }
    if (st.st_size > HUB_CRYPTO_KEYFILE_MAX) {
        rc = hub_error_set(err, HUB_E_CONFIG, "key file %s: larger than %d bytes", path,
                           HUB_CRYPTO_KEYFILE_MAX);
        goto close_fd;
    }
    data = malloc(HUB_CRYPTO_KEYFILE_MAX + 1);
    if (data == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "key file %s: out of memory", path);
        goto close_fd;
    }
    /* Read up to the cap + 1 so a file that grew after fstat is still refused. */
    while (len <= HUB_CRYPTO_KEYFILE_MAX) {
        ssize_t n = read(fd, data + len, HUB_CRYPTO_KEYFILE_MAX + 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hub_error_set(err, HUB_E_IO, "key file %s: %s", path, strerror(errno));
            goto free_data;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > HUB_CRYPTO_KEYFILE_MAX) {
        rc = hub_error_set(err, HUB_E_CONFIG, "key file %s: larger than %d bytes", path,
                           HUB_CRYPTO_KEYFILE_MAX);
        goto free_data;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    close(fd);
    return 0;

free_data:
    hub_crypto_free_secret(data, HUB_CRYPTO_KEYFILE_MAX + 1);
close_fd:
    close(fd);
    return rc;
}

int
hub_crypto_keyring_load_file(struct hub_crypto_keyring *ring, const char *path,
                             struct hub_error *err)
{
    char  *text = NULL;
    size_t len = 0;
    int    rc;

    rc = read_secret_file(path, &text, &len, 1, err);
    if (rc < 0)
        return rc;
    rc = hub_crypto_keyring_parse(ring, text, len, path, err);
    hub_crypto_free_secret(text, HUB_CRYPTO_KEYFILE_MAX + 1);
    return rc;
}

int
hub_crypto_keyring_load(struct hub_crypto_keyring *ring, const char *path,
                        struct hub_error *err)
{
    const char *env = getenv("SX_MASTER_KEY");
    int         rc;

    if (ring->nkeys != 0)
        return hub_error_set(err, HUB_E_INVALID, "keyring already loaded");
    if (path == NULL || path[0] == '\0')
        path = getenv("SX_MASTER_KEY_FILE");
    if (env != NULL && env[0] != '\0') {
        rc = hub_crypto_keyring_parse(ring, env, strlen(env), "SX_MASTER_KEY", err);
        if (rc < 0)
            goto wipe;
    }
    if (path != NULL && path[0] != '\0') {
        rc = hub_crypto_keyring_load_file(ring, path, err);
        if (rc < 0)
            goto wipe;
    }
    if (ring->nkeys == 0)
        return hub_error_set(err, HUB_E_CONFIG, "no master key: set SX_MASTER_KEY=keyid:key or "
                             "SX_MASTER_KEY_FILE=<file> (create one with "
                             "hub_crypto_generate_keyfile / `simplix-hub keygen`)");
    return 0;

wipe:
    hub_crypto_keyring_wipe(ring);
    return rc;
}

static void
default_key_id(char out[HUB_CRYPTO_KEY_ID_MAX + 1])
{
    time_t    now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL || strftime(out, HUB_CRYPTO_KEY_ID_MAX + 1,
                                                "k%Y%m%dT%H%M%S", &tm) == 0)
        snprintf(out, HUB_CRYPTO_KEY_ID_MAX + 1, "k%lld", (long long)now);
}

/* Write `len` bytes to a file descriptor, retrying short writes; then fsync. */
static int
write_all_sync(int fd, const char *data, size_t len, const char *path, struct hub_error *err)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hub_error_set(err, HUB_E_IO, "key file %s: %s", path, strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0)
        return hub_error_set(err, HUB_E_IO, "key file %s: fsync: %s", path, strerror(errno));
    return 0;
}

static const char keyfile_header[] =
    "# Simplix Hub master keys: one keyid:base64key per line; the first is active.\n"
    "# Keep this file secret (mode 0600) and backed up: losing it loses every stored secret.\n";

/* Format a ring as key-file text into a malloc'ed buffer, a secret: release it with
 * hub_crypto_free_secret(*out, *out_len) (only the first *out_len bytes ever held a key). */
static int
keyring_format(const struct hub_crypto_keyring *ring, char **out, size_t *out_len,
               struct hub_error *err)
{
    size_t cap = sizeof(keyfile_header) + ring->nkeys * (HUB_CRYPTO_KEY_ID_MAX + 64);
    size_t len = sizeof(keyfile_header) - 1;
    char  *buf;
    size_t i;

    buf = malloc(cap);
    if (buf == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "key file: out of memory");
    memcpy(buf, keyfile_header, len);
    for (i = 0; i < ring->nkeys; i++) {
        size_t idl = strlen(ring->keys[i].id);
        size_t n = 0;

        memcpy(buf + len, ring->keys[i].id, idl);
        len += idl;
        buf[len++] = ':';
        if (hub_crypto_b64_encode(ring->keys[i].key, HUB_CRYPTO_KEY_LEN, HUB_B64_STD,
                                  buf + len, cap - len, &n) < 0) {
            hub_crypto_free_secret(buf, len);
            return hub_error_set(err, HUB_E_INTERNAL, "key file: format overflow");
        }
        len += n;
        buf[len++] = '\n';
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int
new_key(struct hub_crypto_keyring *ring, const char *key_id, int make_active,
        char out_id[HUB_CRYPTO_KEY_ID_MAX + 1], struct hub_error *err)
{
    char    id[HUB_CRYPTO_KEY_ID_MAX + 1];
    uint8_t key[HUB_CRYPTO_KEY_LEN];
    int     rc;

    if (key_id == NULL)
        default_key_id(id);
    else if (strlen(key_id) > HUB_CRYPTO_KEY_ID_MAX)
        return hub_error_set(err, HUB_E_INVALID, "key id longer than %d characters",
                             HUB_CRYPTO_KEY_ID_MAX);
    else
        snprintf(id, sizeof(id), "%s", key_id);
    if (keyring_find(ring, id, strlen(id)) != NULL)
        return hub_error_set(err, HUB_E_INVALID, "key id '%s' is already in use", id);
    if (hub_crypto_random(key, sizeof(key)) < 0)
        return hub_error_set(err, HUB_E_CRYPTO, "no random bytes for a new key");
    rc = hub_crypto_keyring_add(ring, id, key, make_active, err);
    hub_crypto_wipe(key, sizeof(key));
    if (rc == 0 && out_id != NULL)
        memcpy(out_id, id, sizeof(id));
    return rc;
}

int
hub_crypto_generate_keyfile(const char *path, const char *key_id,
                            char out_id[HUB_CRYPTO_KEY_ID_MAX + 1], struct hub_error *err)
{
    struct hub_crypto_keyring ring;
    char                     *text = NULL;
    size_t                    len = 0;
    int                       fd, rc;

    memset(&ring, 0, sizeof(ring));
    rc = new_key(&ring, key_id, 1, out_id, err);
    if (rc < 0)
        goto wipe;
    rc = keyring_format(&ring, &text, &len, err);
    if (rc < 0)
        goto wipe;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = hub_error_set(err, HUB_E_IO, "key file %s: %s", path, strerror(errno));
        goto free_text;
    }
    /* The umask cannot widen 0600, but be explicit should the file system honour ACLs. */
    if (fchmod(fd, 0600) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "key file %s: chmod: %s", path, strerror(errno));
        goto close_fd;
    }
    rc = write_all_sync(fd, text, len, path, err);

close_fd:
    close(fd);
    if (rc < 0)
        unlink(path);
free_text:
    hub_crypto_free_secret(text, len);
wipe:
    hub_crypto_keyring_wipe(&ring);
    return rc;
}

int
hub_crypto_rotate_keyfile(const char *path, const char *new_id,
                          char out_id[HUB_CRYPTO_KEY_ID_MAX + 1], struct hub_error *err)
{
    struct hub_crypto_keyring ring;
    char                      tmp[4096];
    char                     *text = NULL;
    size_t                    len = 0;
    int                       fd, n, rc;

    memset(&ring, 0, sizeof(ring));
    n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return hub_error_set(err, HUB_E_INVALID, "key file path too long");
    rc = hub_crypto_keyring_load_file(&ring, path, err);
    if (rc < 0)
        goto wipe;
    rc = new_key(&ring, new_id, 1, out_id, err);
    if (rc < 0)
        goto wipe;
    rc = keyring_format(&ring, &text, &len, err);
    if (rc < 0)
        goto wipe;
    /* mkstemp creates the file with mode 0600. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = hub_error_set(err, HUB_E_IO, "key file %s: %s", tmp, strerror(errno));
        goto free_text;
    }
    rc = write_all_sync(fd, text, len, tmp, err);
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = hub_error_set(err, HUB_E_IO, "key file %s: rename: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
free_text:
    hub_crypto_free_secret(text, len);
wipe:
    hub_crypto_keyring_wipe(&ring);
    return rc;
}

/* ---- sealing ---------------------------------------------------------------------------- */

int
hub_crypto_seal_ad(const struct hub_crypto_keyring *ring, const void *ad, size_t ad_len,
                   const void *plaintext, size_t len, uint8_t **out_blob, size_t *out_len,
                   struct hub_error *err)
{
    const struct hub_crypto_key *k;
    EVP_CIPHER_CTX              *ctx;
    uint8_t                     *blob, *nonce, *ct, *tag;
    size_t                       id_len, hdr_len, total;
    int                          n = 0, rc = HUB_E_CRYPTO;

    *out_blob = NULL;
    *out_len = 0;
    if (ring->nkeys == 0)
        return hub_error_set(err, HUB_E_CONFIG, "seal: no master key loaded");
    if (len > HUB_CRYPTO_MAX_PLAINTEXT)
        return hub_error_set(err, HUB_E_LIMIT, "seal: secret of %zu bytes > %d", len,
                             HUB_CRYPTO_MAX_PLAINTEXT);
    if (ad_len > HUB_CRYPTO_MAX_AD)
        return hub_error_set(err, HUB_E_LIMIT, "seal: associated data of %zu bytes > %d",
                             ad_len, HUB_CRYPTO_MAX_AD);
    k = &ring->keys[0];
    id_len = strlen(k->id);
    hdr_len = 2 + id_len;
    total = HUB_CRYPTO_SEALED_LEN(len, id_len);
    blob = malloc(total);
    if (blob == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "seal: out of memory");
    blob[0] = HUB_CRYPTO_BLOB_VERSION;
    blob[1] = (uint8_t)id_len;
    memcpy(blob + 2, k->id, id_len);
    nonce = blob + hdr_len;
    ct = nonce + HUB_CRYPTO_NONCE_LEN;
    tag = ct + len;
    if (hub_crypto_random(nonce, HUB_CRYPTO_NONCE_LEN) < 0) {
        hub_error_set(err, HUB_E_CRYPTO, "seal: no random bytes for the nonce");
        goto free_blob;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        hub_error_set(err, HUB_E_NOMEM, "seal: out of memory");
        rc = HUB_E_NOMEM;
        goto free_blob;
    }
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, HUB_CRYPTO_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, blob, (int)hdr_len) != 1 ||
        (ad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) ||
        (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, plaintext, (int)len) != 1) ||
        EVP_EncryptFinal_ex(ctx, tag, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, HUB_CRYPTO_TAG_LEN, tag) != 1) {
        hub_error_set(err, HUB_E_CRYPTO, "seal: AES-256-GCM failed");
        goto free_ctx;
    }
    EVP_CIPHER_CTX_free(ctx);
    *out_blob = blob;
    *out_len = total;
    return 0;

free_ctx:
    EVP_CIPHER_CTX_free(ctx);
free_blob:
    hub_crypto_free_secret(blob, total);
    return rc;
}

int
hub_crypto_seal(const struct hub_crypto_keyring *ring, const void *plaintext, size_t len,
                uint8_t **out_blob, size_t *out_len, struct hub_error *err)
{
    return hub_crypto_seal_ad(ring, NULL, 0, plaintext, len, out_blob, out_len, err);
}

/* Validate the header; on success *id and *id_len point into the blob. */
static int
blob_parse(const uint8_t *blob, size_t len, const char **id, size_t *id_len,
           struct hub_error *err)
{
    if (blob == NULL || len < 2)
        return hub_error_set(err, HUB_E_CRYPTO, "sealed secret is truncated (%zu bytes)", len);
    if (blob[0] != HUB_CRYPTO_BLOB_VERSION)
        return hub_error_set(err, HUB_E_CRYPTO, "sealed secret has unknown format version %u",
                             (unsigned)blob[0]);
    if (blob[1] == 0 || blob[1] > HUB_CRYPTO_KEY_ID_MAX || len < BLOB_FIXED + (size_t)blob[1])
        return hub_error_set(err, HUB_E_CRYPTO, "sealed secret is malformed or truncated");
    if (!key_id_valid((const char *)blob + 2, blob[1]))
        return hub_error_set(err, HUB_E_CRYPTO, "sealed secret has a malformed key id");
    if (len - BLOB_FIXED - blob[1] > HUB_CRYPTO_MAX_PLAINTEXT)
        return hub_error_set(err, HUB_E_CRYPTO, "sealed secret is larger than %d bytes",
                             HUB_CRYPTO_MAX_PLAINTEXT);
    *id = (const char *)blob + 2;
    *id_len = blob[1];
    return 0;
}

int
hub_crypto_blob_key_id(const uint8_t *blob, size_t len, char out[HUB_CRYPTO_KEY_ID_MAX + 1])
{
    const char *id = NULL;
    size_t      id_len = 0;
    int         rc;

    out[0] = '\0';
    rc = blob_parse(blob, len, &id, &id_len, NULL);
    if (rc < 0)
        return rc;
    memcpy(out, id, id_len);
    out[id_len] = '\0';
    return 0;
}

int
hub_crypto_needs_reseal(const struct hub_crypto_keyring *ring, const uint8_t *blob, size_t len)
{
    const char *id = NULL;
    size_t      id_len = 0;
    int         rc;

    rc = blob_parse(blob, len, &id, &id_len, NULL);
    if (rc < 0)
        return rc;
    if (ring->nkeys == 0)
        return 1;
    return !(strlen(ring->keys[0].id) == id_len && memcmp(ring->keys[0].id, id, id_len) == 0);
}

int
hub_crypto_open_ad(const struct hub_crypto_keyring *ring, const void *ad, size_t ad_len,
                   const uint8_t *blob, size_t len, uint8_t **out_plain, size_t *out_len,
                   struct hub_error *err)
{
    const struct hub_crypto_key *k;
    EVP_CIPHER_CTX              *ctx;
    const uint8_t               *nonce, *ct, *tag;
    const char                  *id = NULL;
    uint8_t                      tagbuf[HUB_CRYPTO_TAG_LEN];
    uint8_t                     *plain;
    size_t                       id_len = 0, hdr_len, ct_len;
    int                          n = 0, rc;

    *out_plain = NULL;
    *out_len = 0;
    if (ad_len > HUB_CRYPTO_MAX_AD)
        return hub_error_set(err, HUB_E_CRYPTO, "open: associated data of %zu bytes > %d",
                             ad_len, HUB_CRYPTO_MAX_AD);
    rc = blob_parse(blob, len, &id, &id_len, err);
    if (rc < 0)
        return rc;
    k = keyring_find(ring, id, id_len);
    if (k == NULL)
        return hub_error_set(err, HUB_E_CRYPTO, "secret is sealed with master key '%.*s', "
                             "which is not loaded (active key: '%s'); add it to the key file",
                             (int)id_len, id, ring->nkeys > 0 ? ring->keys[0].id : "none");
    hdr_len = 2 + id_len;
    nonce = blob + hdr_len;
    ct = nonce + HUB_CRYPTO_NONCE_LEN;
    ct_len = len - BLOB_FIXED - id_len;
    tag = ct + ct_len;
    /* OpenSSL wants a writable tag buffer for SET_TAG. */
    memcpy(tagbuf, tag, sizeof(tagbuf));
    plain = malloc(ct_len + 1);
    if (plain == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "open: out of memory");
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "open: out of memory");
        goto free_plain;
    }
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, HUB_CRYPTO_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, blob, (int)hdr_len) != 1 ||
        (ad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) ||
        (ct_len > 0 && EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ct_len) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, HUB_CRYPTO_TAG_LEN, tagbuf) != 1) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "open: AES-256-GCM failed");
        goto free_ctx;
    }
    if (EVP_DecryptFinal_ex(ctx, plain + ct_len, &n) != 1) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "secret sealed with master key '%s' fails "
                           "authentication: it was altered, or belongs to another row", k->id);
        goto free_ctx;
    }
    EVP_CIPHER_CTX_free(ctx);
    plain[ct_len] = '\0';
    *out_plain = plain;
    *out_len = ct_len;
    return 0;

free_ctx:
    EVP_CIPHER_CTX_free(ctx);
free_plain:
    hub_crypto_free_secret(plain, ct_len + 1);
    return rc;
}

int
hub_crypto_open(const struct hub_crypto_keyring *ring, const uint8_t *blob, size_t len,
                uint8_t **out_plain, size_t *out_len, struct hub_error *err)
{
    return hub_crypto_open_ad(ring, NULL, 0, blob, len, out_plain, out_len, err);
}
