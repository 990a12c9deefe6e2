/*
 * Marketplace packages, the tooling side: publisher keys (keygen, trust entries), pack, sign,
 * index. Used by `simplix-hub marketplace ...` (cli_pkg.c) and the build
 * (scripts/pack-marketplace.sh). Format: docs/MARKETPLACE.md.
 */
#include "marketplace/package.h"
#include "marketplace/package_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <simplix/simplix.h>

#include "crypto/crypto.h"
#include "plugin/loader.h"

#define KEY_FILE_MAX     (16 * 1024)
#define TOPICS_MAX_LEN   (16 * 1024)
#define INDEX_MAX_IDS    1024
#define INDEX_MAX_ENTRIES 16384

/* ---- files ---------------------------------------------------------------------------------- */

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
hub_pkg_write_file(const char *path, const void *data, size_t len, mode_t mode,
                   struct hub_error *err)
{
    const char *slash = strrchr(path, '/');
    char        tmp[PATH_MAX];
    int         n, fd, dfd;

    if (slash == NULL)
        n = snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
    else
        n = snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return hub_error_set(err, HUB_E_LIMIT, "the path %s is too long", path);
    /* mkostemp creates the file with mode 0600; the final mode is set before the rename. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return hub_error_set(err, HUB_E_IO, "%s cannot be written: %s", path, strerror(errno));
    if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        int e = errno;

        close(fd);
        unlink(tmp);
        return hub_error_set(err, HUB_E_IO, "%s cannot be written: %s", path, strerror(e));
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;

        unlink(tmp);
        return hub_error_set(err, HUB_E_IO, "%s cannot be written: %s", path, strerror(e));
    }
    /* Make the rename itself durable. */
    if (slash != NULL) {
        char dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        dfd = open(slash == path ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* mkdir -p with mode 0755. */
static int
mkdir_p(const char *path, struct hub_error *err)
{
    char        buf[PATH_MAX];
    struct stat st;
    size_t      len = strlen(path), i;

    if (len == 0 || len >= sizeof(buf))
        return hub_error_set(err, HUB_E_LIMIT, "the folder name %s is empty or too long", path);
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return hub_error_set(err, HUB_E_IO, "the folder %s cannot be created: %s", buf,
                                 strerror(errno));
        if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
            return hub_error_set(err, HUB_E_IO, "%s is not a folder", buf);
        buf[i] = path[i];
    }
    return 0;
}

/* The JSON text of `o` as the tools write it, with a final newline. *out is malloc'd. */
static int
json_text(struct json_object *o, char **out, size_t *out_len, struct hub_error *err)
{
    const char *s = json_object_to_json_string_ext(o, PKG_JSON_FLAGS);
    size_t      len;
    char       *buf;

    if (s == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory writing JSON");
    len = strlen(s);
    buf = malloc(len + 2);
    if (buf == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory writing JSON");
    memcpy(buf, s, len);
    buf[len++] = '\n';
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* Add `v` (NULL = allocation failed) to object `o` under `key`; -1 on failure. */
static int
put(struct json_object *o, const char *key, struct json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int
push(struct json_object *arr, struct json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_array_add(arr, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* ---- keys ----------------------------------------------------------------------------------- */

/* Never prompt for a pass phrase: an encrypted key simply fails to load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int
load_private_key(const char *pem_path, EVP_PKEY **out, struct hub_error *err)
{
    EVP_PKEY *pkey;
    BIO      *bio;
    char     *text = NULL;
    size_t    len = 0;
    unsigned  mode = 0;
    int       rc;

    *out = NULL;
    rc = pkg_read_at(AT_FDCWD, pem_path, 0, KEY_FILE_MAX, pem_path, &text, &len, &mode, err);
    if (rc < 0)
        return hub_error_prefix(err, "signing key");
    if (mode & (S_IRWXG | S_IRWXO)) {
        hub_crypto_free_secret(text, len);
        return hub_error_set(err, HUB_E_CONFIG, "signing key %s is readable or writable by group "
                             "or others; `chmod 600` it", pem_path);
    }
    bio = BIO_new_mem_buf(text, (int)len);
    pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    hub_crypto_free_secret(text, len);
    if (pkey == NULL)
        return hub_error_set(err, HUB_E_CONFIG, "signing key %s is not an unencrypted PEM "
                             "private key", pem_path);
    if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return hub_error_set(err, HUB_E_CONFIG, "signing key %s is not an Ed25519 key",
                             pem_path);
    }
    *out = pkey;
    return 0;
}

/* Standard base64 of the raw 32-byte public key. */
static int
public_key_b64(EVP_PKEY *pkey, char out[64], struct hub_error *err)
{
    uint8_t raw[32];
    size_t  len = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof(raw) ||
        hub_crypto_b64_encode(raw, sizeof(raw), HUB_B64_STD, out, 64, NULL) < 0)
        return hub_error_set(err, HUB_E_CRYPTO, "the Ed25519 public key cannot be read");
    return 0;
}

int
hub_pkg_sign_bytes(const char *pem_path, const void *data, size_t len, char *out, size_t cap,
                   struct hub_error *err)
{
    EVP_PKEY     *pkey;
    EVP_MD_CTX   *ctx;
    unsigned char sig[64];
    size_t        sig_len = sizeof(sig);
    int           rc;

    rc = load_private_key(pem_path, &pkey, err);
    if (rc < 0)
        return rc;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        EVP_PKEY_free(pkey);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory signing");
    }
    /* Ed25519: no digest (NULL md), the exact bytes in one call. */
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1 || sig_len != sizeof(sig))
        rc = hub_error_set(err, HUB_E_CRYPTO, "signing with %s failed", pem_path);
    else if (hub_crypto_b64_encode(sig, sig_len, HUB_B64_STD, out, cap, NULL) < 0)
        rc = hub_error_set(err, HUB_E_LIMIT, "no room for the signature");
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int
hub_pkg_public_entry(const char *pem_path, const char *publisher, const char *key_id, char *out,
                     size_t cap, struct hub_error *err)
{
    EVP_PKEY *pkey;
    char      pub[64];
    int       rc, n;

    if (!pkg_publisher_ok(publisher) || !pkg_key_id_ok(key_id))
        return hub_error_set(err, HUB_E_INVALID, "a publisher is 1 to 64 characters of "
                             "[a-z0-9_.-] and a key id 1 to 64 of [A-Za-z0-9_.-]");
    rc = load_private_key(pem_path, &pkey, err);
    if (rc < 0)
        return rc;
    rc = public_key_b64(pkey, pub, err);
    EVP_PKEY_free(pkey);
    if (rc < 0)
        return rc;
    /* The three strings are from safe alphabets: nothing to escape. */
    n = snprintf(out, cap, "{\"publisher\": \"%s\", \"key_id\": \"%s\", \"public_key\": \"%s\"}",
                 publisher, key_id, pub);
    if (n < 0 || (size_t)n >= cap)
        return hub_error_set(err, HUB_E_LIMIT, "no room for the trust entry");
    return 0;
}

int
hub_pkg_trust_add(const char *path, const char *publisher, const char *key_id,
                  const char *public_key_b64, struct hub_error *err)
{
    struct hub_pkg_trust *t = NULL;
    struct json_object   *root = NULL, *keys, *e;
    EVP_PKEY             *pkey;
    uint8_t               raw[32], have[32];
    char                 *text = NULL;
    size_t                len = 0, n = 0;
    unsigned              mode = 0100644;
    int                   rc;

    if (!pkg_publisher_ok(publisher) || !pkg_key_id_ok(key_id))
        return hub_error_set(err, HUB_E_INVALID, "a publisher is 1 to 64 characters of "
                             "[a-z0-9_.-] and a key id 1 to 64 of [A-Za-z0-9_.-]");
    if (public_key_b64 == NULL ||
        hub_crypto_b64_decode(public_key_b64, strlen(public_key_b64), HUB_B64_STD, raw,
                              sizeof(raw), &n, NULL) < 0 || n != sizeof(raw))
        return hub_error_set(err, HUB_E_INVALID, "the public key must be the base64 of a raw "
                             "32-byte Ed25519 public key");
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
    if (pkey == NULL)
        return hub_error_set(err, HUB_E_INVALID, "the public key is not a usable Ed25519 key");
    EVP_PKEY_free(pkey);

    rc = hub_pkg_trust_load(path, &t, err);
    if (rc < 0 && rc != HUB_E_NOT_FOUND)
        return rc;
    if (rc == 0) {
        int found = pkg_trust_lookup(t, publisher, key_id, have);

        hub_pkg_trust_free(t);
        if (found && memcmp(have, raw, sizeof(raw)) == 0)
            return 0;
        if (found)
            return hub_error_set(err, HUB_E_CONFLICT, "the trust file %s already has %s/%s with "
                                 "another key; choose another key id", path, publisher, key_id);
        rc = pkg_read_at(AT_FDCWD, path, 0, HUB_PKG_TRUST_MAX, path, &text, &len, &mode, err);
        if (rc < 0)
            return rc;
        root = pkg_json_parse(text, len, 4);
        free(text);
        text = NULL;
    } else {
        /* A new trust file; its folder may be new too (a marketplace being set up). */
        const char *slash = strrchr(path, '/');
        char        dir[PATH_MAX];

        if (slash != NULL && slash != path && (size_t)(slash - path) < sizeof(dir)) {
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
            rc = mkdir_p(dir, err);
            if (rc < 0)
                return rc;
        }
        root = json_object_new_object();
        if (root != NULL && put(root, "keys", json_object_new_array()) < 0) {
            json_object_put(root);
            root = NULL;
        }
    }
    if (root == NULL || !json_object_object_get_ex(root, "keys", &keys)) {
        json_object_put(root);
        return hub_error_set(err, HUB_E_NOMEM, "the trust file %s cannot be updated", path);
    }
    e = json_object_new_object();
    if (e == NULL || put(e, "publisher", json_object_new_string(publisher)) < 0 ||
        put(e, "key_id", json_object_new_string(key_id)) < 0 ||
        put(e, "public_key", json_object_new_string(public_key_b64)) < 0 || push(keys, e) < 0) {
        json_object_put(e);
        json_object_put(root);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory updating %s", path);
    }
    rc = json_text(root, &text, &len, err);
    json_object_put(root);
    if (rc < 0)
        return rc;
    rc = hub_pkg_write_file(path, text, len, (mode_t)(mode & 0755), err);
    free(text);
    return rc;
}

int
hub_pkg_keygen(const char *pem_path, const char *publisher, const char *key_id,
               const char *trust_path, struct hub_error *err)
{
    struct hub_pkg_trust *t = NULL;
    EVP_PKEY_CTX         *kctx;
    EVP_PKEY             *pkey = NULL;
    BIO                  *bio = NULL;
    char                 *pem = NULL, pub[64];
    long                  pem_len = 0;
    uint8_t               raw[32];
    int                   fd, rc;

    if (!pkg_publisher_ok(publisher) || !pkg_key_id_ok(key_id))
        return hub_error_set(err, HUB_E_INVALID, "a publisher is 1 to 64 characters of "
                             "[a-z0-9_.-] and a key id 1 to 64 of [A-Za-z0-9_.-]");
    if (trust_path != NULL) {
        rc = hub_pkg_trust_load(trust_path, &t, err);
        if (rc < 0 && rc != HUB_E_NOT_FOUND)
            return rc;
        if (rc == 0 && pkg_trust_lookup(t, publisher, key_id, raw)) {
            hub_pkg_trust_free(t);
            return hub_error_set(err, HUB_E_CONFLICT, "the trust file %s already has %s/%s; "
                                 "choose another key id", trust_path, publisher, key_id);
        }
        hub_pkg_trust_free(t);
    }

    kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) != 1 || EVP_PKEY_keygen(kctx, &pkey) != 1) {
        EVP_PKEY_CTX_free(kctx);
        return hub_error_set(err, HUB_E_CRYPTO, "an Ed25519 key cannot be generated");
    }
    EVP_PKEY_CTX_free(kctx);
    rc = public_key_b64(pkey, pub, err);
    if (rc < 0)
        goto free_key;
    /* PKCS#8, unencrypted: the file's mode protects it (keep it offline for production). */
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "the key cannot be written as PEM");
        goto free_bio;
    }
    pem_len = BIO_get_mem_data(bio, &pem);
    if (pem_len <= 0 || pem == NULL) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "the key cannot be written as PEM");
        goto free_bio;
    }
    fd = open(pem_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            rc = hub_error_set(err, HUB_E_IO, "%s already exists; keygen never overwrites a "
                               "key", pem_path);
        else
            rc = hub_error_set(err, HUB_E_IO, "%s cannot be created: %s", pem_path,
                               strerror(errno));
        goto free_bio;
    }
    if (fchmod(fd, 0600) < 0 || write_all(fd, pem, (size_t)pem_len) < 0 || fsync(fd) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "%s cannot be written: %s", pem_path, strerror(errno));
        close(fd);
        unlink(pem_path);
        goto free_bio;
    }
    if (close(fd) < 0) {
        rc = hub_error_set(err, HUB_E_IO, "%s cannot be written: %s", pem_path, strerror(errno));
        unlink(pem_path);
        goto free_bio;
    }
    if (trust_path != NULL) {
        rc = hub_pkg_trust_add(trust_path, publisher, key_id, pub, err);
        if (rc < 0)
            unlink(pem_path);
    }
free_bio:
    if (pem != NULL && pem_len > 0)
        hub_crypto_wipe(pem, (size_t)pem_len);
    BIO_free(bio);
free_key:
    EVP_PKEY_free(pkey);
    return rc;
}

/* ---- pack ----------------------------------------------------------------------------------- */

static void
utc_now(char out[21])
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");       /* reproducible builds */
    time_t      now = time(NULL);
    struct tm   tm;

    if (sde != NULL && sde[0] != '\0') {
        char     *end;
        long long v;

        errno = 0;
        v = strtoll(sde, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 0 && v < 253402300800LL)
            now = (time_t)v;
    }
    if (gmtime_r(&now, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
        snprintf(out, 21, "1970-01-01T00:00:00Z");
}

/* Split "a, b,c" into a JSON array of the non-empty, trimmed items. */
static int
topics_array(const char *csv, struct json_object **out, size_t *out_n, struct hub_error *err)
{
    struct json_object *arr = json_object_new_array();
    const char         *p = csv;
    size_t              n = 0;

    *out = NULL;
    if (arr == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    if (csv != NULL && strlen(csv) > TOPICS_MAX_LEN) {
        json_object_put(arr);
        return hub_error_set(err, HUB_E_LIMIT, "--topics is longer than %d bytes",
                             TOPICS_MAX_LEN);
    }
    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *s = p;

        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > s && push(arr, json_object_new_string_len(s, (int)(end - s))) < 0) {
            json_object_put(arr);
            return hub_error_set(err, HUB_E_NOMEM, "out of memory");
        }
        n += end > s;
        p = comma != NULL ? comma + 1 : NULL;
    }
    *out = arr;
    *out_n = n;
    return 0;
}

/* The manifest of the loaded connector `p` as a JSON object (unsigned). */
static struct json_object *
manifest_object(const struct hub_plugin *p, const char *sha, int64_t size,
                const char *description, struct json_object *topics, const char *icon,
                const char *icon_sha)
{
    struct json_object *m = json_object_new_object(), *a, *ents, *cfg;
    char                file[80], abi[32], created[21];
    size_t              i;
    int                 bad = 0;

    if (m == NULL) {
        json_object_put(topics);
        return NULL;
    }
    snprintf(file, sizeof(file), "%s.so", p->id);
    snprintf(abi, sizeof(abi), "%u.%u", p->abi_major, p->abi_minor);
    utc_now(created);
    bad |= put(m, "format", json_object_new_int(HUB_PKG_FORMAT));
    bad |= put(m, "id", json_object_new_string(p->id));
    bad |= put(m, "display_name", json_object_new_string(p->desc.display_name));
    bad |= put(m, "version", json_object_new_string(p->desc.version));
    bad |= put(m, "publisher", json_object_new_string(""));
    bad |= put(m, "key_id", json_object_new_string(""));
    bad |= put(m, "sdk_abi", json_object_new_string(abi));
    bad |= put(m, "auth_kind", json_object_new_string(hub_auth_kind_name(p->desc.auth_kind)));
    /* First-party connectors speak to one platform, named like the connector. */
    a = json_object_new_array();
    bad |= put(m, "platforms", a);
    if (a != NULL)
        bad |= push(a, json_object_new_string(p->id));
    ents = json_object_new_object();
    bad |= put(m, "entities", ents);
    for (i = 0; ents != NULL && i < p->n_entities; i++) {
        const sx_entity_ops *e = &p->entities[i];

        a = json_object_new_array();
        bad |= put(ents, sx_entity_name(e->entity), a);
        if (a != NULL && (e->directions & SX_DIR_IMPORT))
            bad |= push(a, json_object_new_string("import"));
        if (a != NULL && (e->directions & SX_DIR_EXPORT))
            bad |= push(a, json_object_new_string("export"));
    }
    bad |= put(m, "webhooks", json_object_new_boolean(p->has_webhook));
    bad |= put(m, "webhook_topics", topics);
    cfg = json_object_new_array();
    bad |= put(m, "config", cfg);
    for (i = 0; cfg != NULL && i < p->n_config; i++) {
        const sx_config_field *f = &p->desc.config[i];
        struct json_object    *o = json_object_new_object();

        bad |= push(cfg, o);
        if (o == NULL)
            continue;
        bad |= put(o, "key", json_object_new_string(f->key));
        bad |= put(o, "kind", json_object_new_string(pkg_cfg_kind_name(f->kind)));
        bad |= put(o, "required", json_object_new_boolean((f->flags & SX_CFG_REQUIRED) != 0));
        bad |= put(o, "help", f->help != NULL ? json_object_new_string(f->help)
                                              : json_object_new_string(""));
    }
    bad |= put(m, "file", json_object_new_string(file));
    bad |= put(m, "sha256", json_object_new_string(sha));
    bad |= put(m, "size", json_object_new_int64(size));
    bad |= put(m, "description", json_object_new_string(description));
    if (icon != NULL) {
        bad |= put(m, "icon", json_object_new_string(icon));
        bad |= put(m, "icon_sha256", json_object_new_string(icon_sha));
    }
    bad |= put(m, "created_at", json_object_new_string(created));
    if (bad) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

/* Read the icon at `path`: .svg or .png, at most HUB_PKG_ICON_MAX, content to match. */
static int
read_icon(const char *path, char **data, size_t *len, const char **name, struct hub_error *err)
{
    size_t plen = strlen(path);
    int    png = plen > 4 && strcmp(path + plen - 4, ".png") == 0;
    int    svg = plen > 4 && strcmp(path + plen - 4, ".svg") == 0;
    int    rc;

    if (!png && !svg)
        return hub_error_set(err, HUB_E_INVALID, "the icon %s must be a .svg or .png file",
                             path);
    rc = pkg_read_at(AT_FDCWD, path, 0, HUB_PKG_ICON_MAX, path, data, len, NULL, err);
    if (rc < 0)
        return hub_error_prefix(err, "icon");
    if ((png && (*len < 8 || memcmp(*data, "\x89PNG\r\n\x1a\n", 8) != 0)) ||
        (svg && strstr(*data, "<svg") == NULL)) {
        free(*data);
        *data = NULL;
        return hub_error_set(err, HUB_E_INVALID, "the icon %s is not a %s image", path,
                             png ? "PNG" : "SVG");
    }
    *name = png ? "icon.png" : "icon.svg";
    return 0;
}

int
hub_pkg_pack(const char *so_path, const char *out_marketplace_dir, const char *description,
             const char *icon_path, const char *topics_csv, char *pkg_dir_out, size_t cap,
             struct hub_error *err)
{
    struct hub_pkg_manifest check;
    struct hub_plugin      *p = NULL;
    struct json_object     *topics = NULL, *mo = NULL;
    const char             *icon_name = NULL;
    char                   *so = NULL, *icon = NULL, *text = NULL;
    char                    sha[65], icon_sha[65], sub[200], dir[PATH_MAX], path[PATH_MAX];
    size_t                  so_len = 0, icon_len = 0, text_len = 0, n_topics = 0;
    int                     rc;

    if (description != NULL && strlen(description) > HUB_PKG_DESC_MAX)
        return hub_error_set(err, HUB_E_INVALID, "the description is longer than %d bytes",
                             HUB_PKG_DESC_MAX);
    rc = pkg_read_at(AT_FDCWD, so_path, 0, HUB_PKG_SO_MAX, so_path, &so, &so_len, NULL, err);
    if (rc < 0)
        return rc;
    if (hub_crypto_sha256_hex(so, so_len, sha) < 0) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "SHA-256 is unavailable");
        goto out;
    }
    /* The loader's checks and the descriptor the manifest is made from. */
    rc = hub_plugin_load(so_path, NULL, &p, err);
    if (rc < 0)
        goto out;
    rc = topics_array(topics_csv, &topics, &n_topics, err);
    if (rc < 0)
        goto out;
    if (n_topics > 0 && !p->has_webhook) {
        rc = hub_error_set(err, HUB_E_INVALID, "--topics given but connector %s has no webhook "
                           "ops", p->id);
        goto out;
    }
    if (icon_path != NULL) {
        rc = read_icon(icon_path, &icon, &icon_len, &icon_name, err);
        if (rc == 0 && hub_crypto_sha256_hex(icon, icon_len, icon_sha) < 0)
            rc = hub_error_set(err, HUB_E_CRYPTO, "SHA-256 is unavailable");
        if (rc < 0)
            goto out;
    }
    mo = manifest_object(p, sha, (int64_t)so_len,
                         description != NULL ? description : p->desc.display_name, topics,
                         icon_name, icon_sha);
    topics = NULL;                               /* owned by mo now, or freed */
    if (mo == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory building the manifest");
        goto out;
    }
    rc = json_text(mo, &text, &text_len, err);
    if (rc < 0)
        goto out;
    /* What we write must be what a hub accepts. */
    rc = hub_pkg_manifest_parse(text, text_len, &check, err);
    if (rc < 0)
        goto out;
    hub_pkg_manifest_free(&check);

    snprintf(sub, sizeof(sub), "packages/%s/%s", p->id, p->desc.version);
    rc = pkg_join(dir, sizeof(dir), out_marketplace_dir, sub, err);
    if (rc == 0)
        rc = mkdir_p(dir, err);
    if (rc < 0)
        goto out;
    /* Repacking a version replaces it: its old signature no longer applies. */
    if (pkg_join(path, sizeof(path), dir, "manifest.sig", err) < 0 ||
        (unlink(path) < 0 && errno != ENOENT)) {
        rc = hub_error_set(err, HUB_E_IO, "%s cannot be removed: %s", path, strerror(errno));
        goto out;
    }
    snprintf(sub, sizeof(sub), "%s.so", p->id);
    rc = pkg_join(path, sizeof(path), dir, sub, err);
    if (rc == 0)
        rc = hub_pkg_write_file(path, so, so_len, 0644, err);
    if (rc < 0)
        goto out;
    if (icon_name != NULL) {
        rc = pkg_join(path, sizeof(path), dir, icon_name, err);
        if (rc == 0)
            rc = hub_pkg_write_file(path, icon, icon_len, 0644, err);
        if (rc < 0)
            goto out;
    }
    /* An icon from an earlier packing that this one does not have. */
    if (icon_name == NULL || strcmp(icon_name, "icon.svg") != 0) {
        if (pkg_join(path, sizeof(path), dir, "icon.svg", NULL) == 0)
            (void)unlink(path);
    }
    if (icon_name == NULL || strcmp(icon_name, "icon.png") != 0) {
        if (pkg_join(path, sizeof(path), dir, "icon.png", NULL) == 0)
            (void)unlink(path);
    }
    rc = pkg_join(path, sizeof(path), dir, "manifest.json", err);
    if (rc == 0)
        rc = hub_pkg_write_file(path, text, text_len, 0644, err);
    if (rc < 0)
        goto out;
    if (pkg_dir_out != NULL && cap > 0 && (size_t)snprintf(pkg_dir_out, cap, "%s", dir) >= cap)
        rc = hub_error_set(err, HUB_E_LIMIT, "no room for the package folder name");
out:
    json_object_put(topics);
    json_object_put(mo);
    free(text);
    free(icon);
    free(so);
    hub_plugin_unload(p);
    return rc;
}

/* ---- sign ----------------------------------------------------------------------------------- */

int
hub_pkg_sign(const char *pkg_dir, const char *pem_path, const char *publisher,
             const char *key_id, struct hub_error *err)
{
    struct hub_pkg_manifest m, check;
    struct json_object     *root = NULL;
    char                   *text = NULL, *out = NULL, hex[65], sig[128], path[PATH_MAX];
    size_t                  len = 0, out_len = 0, sig_len;
    int64_t                 size = 0;
    int                     dfd, rc;

    memset(&m, 0, sizeof(m));
    if (!pkg_publisher_ok(publisher) || !pkg_key_id_ok(key_id))
        return hub_error_set(err, HUB_E_INVALID, "a publisher is 1 to 64 characters of "
                             "[a-z0-9_.-] and a key id 1 to 64 of [A-Za-z0-9_.-]");
    dfd = open(pkg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return hub_error_set(err, HUB_E_IO, "the package folder %s cannot be opened: %s",
                             pkg_dir, strerror(errno));
    rc = pkg_read_at(dfd, "manifest.json", 1, HUB_PKG_MANIFEST_MAX, "manifest.json", &text,
                     &len, NULL, err);
    if (rc == HUB_E_NOT_FOUND)
        rc = hub_error_set(err, HUB_E_INVALID, "the package has no manifest.json");
    if (rc < 0)
        goto out;
    rc = hub_pkg_manifest_parse(text, len, &m, err);
    if (rc < 0)
        goto out;
    /* A signature vouches for the .so and the icon: refuse to sign files that do not match. */
    rc = pkg_hash_at(dfd, m.file, HUB_PKG_SO_MAX, m.file, hex, &size, err);
    if (rc == 0 && (size != m.size || strcmp(hex, m.sha256) != 0))
        rc = hub_error_set(err, HUB_E_REJECTED, "the .so does not match the manifest's SHA-256; "
                           "pack it again");
    if (rc == 0 && m.icon[0] != '\0') {
        rc = pkg_hash_at(dfd, m.icon, HUB_PKG_ICON_MAX, m.icon, hex, &size, err);
        if (rc == 0 && strcmp(hex, m.icon_sha256) != 0)
            rc = hub_error_set(err, HUB_E_REJECTED, "the icon does not match the manifest's "
                               "icon_sha256; pack it again");
    }
    if (rc < 0)
        goto out;

    root = pkg_json_parse(text, len, 8);
    if (root == NULL || put(root, "publisher", json_object_new_string(publisher)) < 0 ||
        put(root, "key_id", json_object_new_string(key_id)) < 0) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory rewriting manifest.json");
        goto out;
    }
    rc = json_text(root, &out, &out_len, err);
    if (rc < 0)
        goto out;
    rc = hub_pkg_manifest_parse(out, out_len, &check, err);
    if (rc < 0)
        goto out;
    hub_pkg_manifest_free(&check);
    rc = hub_pkg_sign_bytes(pem_path, out, out_len, sig, sizeof(sig) - 1, err);
    if (rc < 0)
        goto out;
    sig_len = strlen(sig);
    sig[sig_len++] = '\n';                      /* one line */

    /* Old signature first: never a manifest.sig next to a manifest it does not cover. */
    if (unlinkat(dfd, "manifest.sig", 0) < 0 && errno != ENOENT) {
        rc = hub_error_set(err, HUB_E_IO, "%s/manifest.sig cannot be removed: %s", pkg_dir,
                           strerror(errno));
        goto out;
    }
    rc = pkg_join(path, sizeof(path), pkg_dir, "manifest.json", err);
    if (rc == 0)
        rc = hub_pkg_write_file(path, out, out_len, 0644, err);
    if (rc == 0)
        rc = pkg_join(path, sizeof(path), pkg_dir, "manifest.sig", err);
    if (rc == 0)
        rc = hub_pkg_write_file(path, sig, sig_len, 0644, err);
out:
    json_object_put(root);
    hub_pkg_manifest_free(&m);
    free(out);
    free(text);
    close(dfd);
    return rc;
}

/* ---- index ---------------------------------------------------------------------------------- */

struct index_entry {
    char id[65];
    char version[65];
    char sdk_abi[16];
    char publisher[65];
    char display_name[129];
    char summary[HUB_PKG_SUMMARY_MAX + 1];
};

static int
entry_cmp(const void *a, const void *b)
{
    const struct index_entry *x = a, *y = b;
    int                       c = strcmp(x->id, y->id);

    if (c == 0)
        c = hub_pkg_semver_cmp(x->version, y->version);
    if (c == 0)
        c = strcmp(x->version, y->version);
    return c;
}

/* The first line of `desc`, at most HUB_PKG_SUMMARY_MAX bytes, cut on a UTF-8 boundary. */
static void
summary_of(const char *desc, char *out)
{
    size_t len = strcspn(desc, "\n");

    if (len > HUB_PKG_SUMMARY_MAX) {
        len = HUB_PKG_SUMMARY_MAX;
        while (len > 0 && ((unsigned char)desc[len] & 0xc0) == 0x80)
            len--;
    }
    while (len > 0 && (desc[len - 1] == ' ' || desc[len - 1] == '\t' || desc[len - 1] == '\r'))
        len--;
    memcpy(out, desc, len);
    out[len] = '\0';
}

/* Read packages/<id>/<version>/manifest.json into `e`. */
static int
index_read_one(int vfd, const char *id, const char *version, struct index_entry *e,
               struct hub_error *err)
{
    struct hub_pkg_manifest m;
    struct json_object     *root, *d;
    char                   *text = NULL;
    size_t                  len = 0;
    int                     rc;

    rc = pkg_read_at(vfd, "manifest.json", 1, HUB_PKG_MANIFEST_MAX, "manifest.json", &text,
                     &len, NULL, err);
    if (rc == 0)
        rc = hub_pkg_manifest_parse(text, len, &m, err);
    if (rc < 0) {
        free(text);
        return hub_error_prefix(err, "packages/%s/%s", id, version);
    }
    if (strcmp(m.id, id) != 0 || strcmp(m.version, version) != 0) {
        rc = hub_error_set(err, HUB_E_INVALID, "packages/%s/%s/manifest.json is for %s %s; it "
                           "belongs in packages/%s/%s", id, version, m.id, m.version, m.id,
                           m.version);
        goto out;
    }
    snprintf(e->id, sizeof(e->id), "%s", m.id);
    snprintf(e->version, sizeof(e->version), "%s", m.version);
    snprintf(e->sdk_abi, sizeof(e->sdk_abi), "%s", m.sdk_abi);
    snprintf(e->publisher, sizeof(e->publisher), "%s", m.publisher);
    snprintf(e->display_name, sizeof(e->display_name), "%s", m.display_name);
    /* The parser checked the description; fetch its text for the summary. */
    root = pkg_json_parse(text, len, 8);
    e->summary[0] = '\0';
    if (root != NULL && json_object_object_get_ex(root, "description", &d))
        summary_of(json_object_get_string(d), e->summary);
    json_object_put(root);
out:
    hub_pkg_manifest_free(&m);
    free(text);
    return rc;
}

/* Sub-folders of `dfd` not starting with '.', in any order; *out malloc'd strings. */
static int
list_dirs(int dfd, const char *what, char ***out, size_t *out_n, size_t max,
          struct hub_error *err)
{
    struct dirent *de;
    DIR           *d;
    char         **names = NULL;
    size_t         n = 0, cap = 0, i;
    int            fd, rc = 0;

    *out = NULL;
    *out_n = 0;
    fd = dup(dfd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return hub_error_set(err, HUB_E_IO, "%s cannot be read: %s", what, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            char **nn;

            if (cap >= max) {
                rc = hub_error_set(err, HUB_E_LIMIT, "%s has more than %zu entries", what, max);
                goto fail;
            }
            cap = cap ? cap * 2 : 16;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL) {
                rc = hub_error_set(err, HUB_E_NOMEM, "out of memory listing %s", what);
                goto fail;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory listing %s", what);
            goto fail;
        }
        n++;
    }
    closedir(d);
    *out = names;
    *out_n = n;
    return 0;

fail:
    closedir(d);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void
free_names(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Scan packages/ into *out (sorted). */
static int
index_scan(const char *marketplace_dir, struct index_entry **out, size_t *out_n,
           struct hub_error *err)
{
    struct index_entry *ents = NULL;
    char                path[PATH_MAX], **ids = NULL, **vers = NULL;
    size_t              n = 0, cap = 0, n_ids = 0, n_vers = 0, i, j;
    int                 pfd, ifd = -1, vfd, rc;

    *out = NULL;
    *out_n = 0;
    rc = pkg_join(path, sizeof(path), marketplace_dir, "packages", err);
    if (rc < 0)
        return rc;
    pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 && errno == ENOENT)
        return 0;                                /* an empty marketplace */
    if (pfd < 0)
        return hub_error_set(err, HUB_E_IO, "%s cannot be opened: %s", path, strerror(errno));
    rc = list_dirs(pfd, path, &ids, &n_ids, INDEX_MAX_IDS, err);
    for (i = 0; rc == 0 && i < n_ids; i++) {
        if (!hub_pkg_id_valid(ids[i])) {
            rc = hub_error_set(err, HUB_E_INVALID, "packages/%.64s is not named after a "
                               "connector id ([a-z0-9_])", ids[i]);
            break;
        }
        ifd = openat(pfd, ids[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ifd < 0) {
            rc = hub_error_set(err, HUB_E_IO, "packages/%s cannot be opened: %s", ids[i],
                               strerror(errno));
            break;
        }
        rc = list_dirs(ifd, ids[i], &vers, &n_vers, INDEX_MAX_ENTRIES, err);
        for (j = 0; rc == 0 && j < n_vers; j++) {
            if (!hub_pkg_semver_valid(vers[j])) {
                rc = hub_error_set(err, HUB_E_INVALID, "packages/%s/%.64s is not named after a "
                                   "semantic version", ids[i], vers[j]);
                break;
            }
            if (n == cap) {
                struct index_entry *ne;

                if (cap >= INDEX_MAX_ENTRIES) {
                    rc = hub_error_set(err, HUB_E_LIMIT, "the marketplace has more than %d "
                                       "package versions", INDEX_MAX_ENTRIES);
                    break;
                }
                cap = cap ? cap * 2 : 16;
                ne = realloc(ents, cap * sizeof(*ents));
                if (ne == NULL) {
                    rc = hub_error_set(err, HUB_E_NOMEM, "out of memory scanning packages");
                    break;
                }
                ents = ne;
            }
            vfd = openat(ifd, vers[j], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (vfd < 0) {
                rc = hub_error_set(err, HUB_E_IO, "packages/%s/%s cannot be opened: %s", ids[i],
                                   vers[j], strerror(errno));
                break;
            }
            rc = index_read_one(vfd, ids[i], vers[j], &ents[n], err);
            close(vfd);
            if (rc == 0)
                n++;
        }
        free_names(vers, n_vers);
        vers = NULL;
        close(ifd);
    }
    free_names(ids, n_ids);
    close(pfd);
    if (rc < 0) {
        free(ents);
        return rc;
    }
    if (n > 1)
        qsort(ents, n, sizeof(*ents), entry_cmp);
    *out = ents;
    *out_n = n;
    return 0;
}

static struct json_object *
index_object(const struct index_entry *ents, size_t n)
{
    struct json_object *root = json_object_new_object(), *pkgs = json_object_new_array();
    struct json_object *vers = NULL;
    size_t              i, first = 0;
    int                 bad = 0;

    if (root == NULL || pkgs == NULL) {
        json_object_put(root);
        json_object_put(pkgs);
        return NULL;
    }
    bad |= put(root, "format", json_object_new_int(HUB_PKG_FORMAT));
    bad |= put(root, "packages", pkgs);
    for (i = 0; !bad && i < n; i++) {
        struct json_object *v;
        char                path[200];

        if (i == 0 || strcmp(ents[i].id, ents[first].id) != 0) {
            struct json_object *p = json_object_new_object();
            size_t              last = i;

            /* The package's name and summary are its highest version's. */
            while (last + 1 < n && strcmp(ents[last + 1].id, ents[i].id) == 0)
                last++;
            first = i;
            bad |= push(pkgs, p);
            if (bad)
                break;
            bad |= put(p, "id", json_object_new_string(ents[i].id));
            bad |= put(p, "display_name", json_object_new_string(ents[last].display_name));
            bad |= put(p, "summary", json_object_new_string(ents[last].summary));
            vers = json_object_new_array();
            bad |= put(p, "versions", vers);
            if (bad)
                break;
        }
        v = json_object_new_object();
        bad |= push(vers, v);
        if (bad)
            break;
        snprintf(path, sizeof(path), "packages/%s/%s", ents[i].id, ents[i].version);
        bad |= put(v, "version", json_object_new_string(ents[i].version));
        bad |= put(v, "sdk_abi", json_object_new_string(ents[i].sdk_abi));
        bad |= put(v, "publisher", json_object_new_string(ents[i].publisher));
        bad |= put(v, "path", json_object_new_string(path));
    }
    if (bad) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

int
hub_pkg_index_write(const char *marketplace_dir, struct hub_error *err)
{
    struct index_entry *ents = NULL;
    struct json_object *root;
    char                path[PATH_MAX], *text = NULL, *old = NULL;
    size_t              n = 0, len = 0, old_len = 0;
    int                 rc;

    rc = pkg_join(path, sizeof(path), marketplace_dir, "index.json", err);
    if (rc < 0)
        return rc;
    rc = index_scan(marketplace_dir, &ents, &n, err);
    if (rc < 0)
        return rc;
    root = index_object(ents, n);
    free(ents);
    if (root == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory building index.json");
    rc = json_text(root, &text, &len, err);
    json_object_put(root);
    if (rc < 0)
        return rc;
    /* Unchanged: leave the file (and its time stamp) alone, so builds stay idempotent. */
    if (pkg_read_at(AT_FDCWD, path, 0, HUB_PKG_INDEX_MAX, path, &old, &old_len, NULL, NULL) == 0 &&
        old_len == len && memcmp(old, text, len) == 0) {
        free(old);
        free(text);
        return 0;
    }
    free(old);
    rc = hub_pkg_write_file(path, text, len, 0644, err);
    free(text);
    return rc;
}
