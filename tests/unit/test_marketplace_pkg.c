/*
 * Marketplace packages (host/marketplace/package.h): keygen, pack, sign and verify of the SDK's
 * template connector (build/plugins/template.so) in a temporary folder, one test per refusal
 * with its exact sentence, semver, the index and its ABI filter, trust files, the verified
 * copy, and the `simplix-hub marketplace` command line. No database.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <simplix/simplix.h>

#include "check.h"
#include "crypto/crypto.h"
#include "marketplace/package.h"

#define TEMPLATE_SO SX_PLUGIN_DIR "/template.so"

static char root[PATH_MAX];          /* the temporary folder of this run */
static char key1[PATH_MAX];          /* trusted: simplix-test/t1 */
static char key2[PATH_MAX];          /* not trusted */
static char trust_path[PATH_MAX];
static struct hub_pkg_trust *trust;
static int  n_fresh;

/* ---- helpers -------------------------------------------------------------------------------- */

static void
path_of(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);

    REQUIRE(n > 0 && n < PATH_MAX);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *buf;
    long   n;

    REQUIRE(f != NULL);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    REQUIRE(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    REQUIRE(buf != NULL);
    REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void
spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    REQUIRE(f != NULL);
    REQUIRE(fwrite(data, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

/* Replace the first `from` in the file by `to` (the test's edit of a package file). */
static void
edit(const char *dir, const char *file, const char *from, const char *to)
{
    char   path[PATH_MAX], *text, *hit, *out;
    size_t len, flen = strlen(from), tlen = strlen(to), head;

    path_of(path, dir, file);
    text = slurp(path, &len);
    hit = strstr(text, from);
    if (hit == NULL)
        fprintf(stderr, "edit: \"%s\" not in %s\n", from, path);
    REQUIRE(hit != NULL);
    head = (size_t)(hit - text);
    out = malloc(len - flen + tlen + 1);
    REQUIRE(out != NULL);
    memcpy(out, text, head);
    memcpy(out + head, to, tlen);
    memcpy(out + head + tlen, hit + flen, len - head - flen);
    spit(path, out, len - flen + tlen);
    free(out);
    free(text);
}

/* Sign whatever manifest.json holds, bypassing hub_pkg_sign's own checks. */
static void
sign_raw(const char *dir, const char *pem)
{
    char   path[PATH_MAX], sig[128], *text;
    size_t len;
    struct hub_error err;

    path_of(path, dir, "manifest.json");
    text = slurp(path, &len);
    REQUIRE(hub_pkg_sign_bytes(pem, text, len, sig, sizeof(sig), &err) == 0);
    free(text);
    path_of(path, dir, "manifest.sig");
    spit(path, sig, strlen(sig));
}

/* A new marketplace folder with template.so packed (and signed by key1 when `sign`). */
static void
fresh(char *pkg, int sign, const char *icon)
{
    struct hub_error err;
    char             mk[PATH_MAX], name[32];
    int              rc;

    snprintf(name, sizeof(name), "mk%d", ++n_fresh);
    path_of(mk, root, name);
    rc = hub_pkg_pack(TEMPLATE_SO, mk, "Template for tests.\nSecond line.", icon, NULL, pkg,
                      PATH_MAX, &err);
    if (rc < 0)
        fprintf(stderr, "pack: %s\n", err.msg);
    REQUIRE(rc == 0);
    if (sign) {
        rc = hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err);
        if (rc < 0)
            fprintf(stderr, "sign: %s\n", err.msg);
        REQUIRE(rc == 0);
    }
}

/* Verify `dir` and expect refusal `code` with exactly `sentence`. */
#define CHECK_REFUSED(dir, check_desc, code, sentence)                                       \
    do {                                                                                    \
        struct hub_pkg_manifest rm_;                                                        \
        struct hub_error        rerr_;                                                      \
                                                                                            \
        memset(&rerr_, 0, sizeof(rerr_));                                                   \
        CHECK_EQ((code), hub_pkg_verify_dir((dir), trust, (check_desc), &rm_, &rerr_));     \
        CHECK_STR_EQ((sentence), rerr_.msg);                                                \
        CHECK(rm_.json == NULL);                                                            \
    } while (0)

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Run the hub binary through the shell; returns the exit status, output in `out`. */
static int
run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
run(char *out, size_t cap, const char *fmt, ...)
{
    char    cmd[4 * PATH_MAX];
    va_list ap;
    FILE   *p;
    size_t  n = 0;
    int     st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    REQUIRE(p != NULL);
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);

        if (got == 0)
            break;
        n += got;
    }
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_keygen(void)
{
    struct hub_error err;
    struct stat      st;
    char            *pem, *tr, entry[512], other[PATH_MAX];

    REQUIRE(stat(key1, &st) == 0);
    CHECK_EQ(0600, st.st_mode & 0777);
    pem = slurp(key1, NULL);
    CHECK(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);     /* PKCS#8 */
    free(pem);
    CHECK_EQ(1, hub_pkg_trust_count(trust));

    /* The printed entry is the one the trust file holds. */
    CHECK_EQ(0, hub_pkg_public_entry(key1, "simplix-test", "t1", entry, sizeof(entry), &err));
    tr = slurp(trust_path, NULL);
    CHECK_STR_HAS(entry, "{\"publisher\": \"simplix-test\", \"key_id\": \"t1\", "
                         "\"public_key\": \"");
    entry[strlen(entry) - 1] = '\0';                /* the closing brace */
    CHECK_STR_HAS(tr, strstr(entry, "\"public_key\""));
    free(tr);

    /* Never overwrites a key, never trusts two keys under one name. */
    CHECK_EQ(HUB_E_IO, hub_pkg_keygen(key1, "simplix-test", "t9", NULL, &err));
    CHECK_STR_HAS(err.msg, "already exists; keygen never overwrites a key");
    path_of(other, root, "other.pem");
    CHECK_EQ(HUB_E_CONFLICT, hub_pkg_keygen(other, "simplix-test", "t1", trust_path, &err));
    CHECK_STR_HAS(err.msg, "already has simplix-test/t1");
    CHECK(access(other, F_OK) != 0);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_keygen(other, "Bad Publisher", "t1", NULL, &err));
    CHECK_EQ(HUB_E_INVALID, hub_pkg_keygen(other, "p", "bad/id", NULL, &err));
    CHECK(access(other, F_OK) != 0);
}

static void
test_trust_add(void)
{
    struct hub_pkg_trust *t = NULL;
    struct hub_error      err;
    char                  entry[512], pub[64], tp[PATH_MAX];
    const char           *p;
    size_t                n;

    REQUIRE(hub_pkg_public_entry(key1, "simplix-test", "t1", entry, sizeof(entry), &err) == 0);
    p = strstr(entry, "\"public_key\": \"");
    REQUIRE(p != NULL);
    p += strlen("\"public_key\": \"");
    n = strcspn(p, "\"");
    REQUIRE(n < sizeof(pub));
    memcpy(pub, p, n);
    pub[n] = '\0';

    /* Already there with the same key: nothing changes. */
    CHECK_EQ(0, hub_pkg_trust_add(trust_path, "simplix-test", "t1", pub, &err));
    /* The same name with another key: refused. */
    CHECK_EQ(HUB_E_CONFLICT, hub_pkg_trust_add(trust_path, "simplix-test", "t1",
                                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                               &err));
    CHECK_EQ(HUB_E_INVALID, hub_pkg_trust_add(trust_path, "simplix-test", "t7", "c2hvcnQ=",
                                              &err));
    CHECK_STR_EQ("the public key must be the base64 of a raw 32-byte Ed25519 public key",
                 err.msg);

    /* A new file, two keys. */
    path_of(tp, root, "trust-two.json");
    CHECK_EQ(0, hub_pkg_trust_add(tp, "a", "k1", pub, &err));
    CHECK_EQ(0, hub_pkg_trust_add(tp, "b.example", "K-2", pub, &err));
    CHECK_EQ(0, hub_pkg_trust_load(tp, &t, &err));
    CHECK_EQ(2, hub_pkg_trust_count(t));
    hub_pkg_trust_free(t);
}

static void
test_trust_file_errors(void)
{
    struct hub_pkg_trust *t = NULL;
    struct hub_error      err;
    char                  tp[PATH_MAX];
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        { "[]", "is not a JSON object with a \"keys\" array" },
        { "{\"keys\":{}}", "is not a JSON object with a \"keys\" array" },
        { "{\"keys\":[{\"publisher\":\"a\",\"key_id\":\"k\",\"public_key\":\"c2hvcnQ=\"}]}",
          "keys[0] (a/k) needs a \"public_key\" that is the base64 of a 32-byte Ed25519 public "
          "key" },
        { "{\"keys\":[{\"publisher\":\"A\",\"key_id\":\"k\",\"public_key\":\"\"}]}",
          "keys[0] needs a \"publisher\" of 1 to 64 characters of [a-z0-9_.-]" },
        { "{\"keys\":[{\"publisher\":\"a\",\"key_id\":\"k\",\"public_key\":\"x\",\"x\":1}]}",
          "keys[0] has an unknown field \"x\"" },
        { "{\"keys\":[{\"publisher\":\"a\",\"key_id\":\"k\",\"public_key\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},{\"publisher\":\"a\",\"key_id\":"
          "\"k\",\"public_key\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}",
          "lists a/k twice with different keys" },
    };
    size_t i;

    path_of(tp, root, "bad-trust.json");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spit(tp, cases[i].text, strlen(cases[i].text));
        CHECK_EQ(HUB_E_CONFIG, hub_pkg_trust_load(tp, &t, &err));
        CHECK_STR_HAS(err.msg, cases[i].msg);
        CHECK(t == NULL);
    }
    /* Whoever can write it decides what runs. */
    spit(tp, "{\"keys\":[]}", 11);
    REQUIRE(chmod(tp, 0666) == 0);
    CHECK_EQ(HUB_E_CONFIG, hub_pkg_trust_load(tp, &t, &err));
    CHECK_STR_HAS(err.msg, "is writable by others");
    REQUIRE(chmod(tp, 0644) == 0);
    CHECK_EQ(0, hub_pkg_trust_load(tp, &t, &err));
    CHECK_EQ(0, hub_pkg_trust_count(t));
    hub_pkg_trust_free(t);
    t = NULL;
    unlink(tp);
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_trust_load(tp, &t, &err));
    CHECK_STR_HAS(err.msg, "does not exist");
}

static void
test_pack_sign_verify(void)
{
    struct hub_pkg_manifest m, u;
    struct hub_error        err;
    char                    pkg[PATH_MAX], path[PATH_MAX], hex[65], *so, *text, *sig;
    size_t                  so_len, len, sig_len;

    fresh(pkg, 0, NULL);
    CHECK_STR_HAS(pkg, "/packages/template/1.0.0");
    /* Unsigned as packed: publisher and key_id empty. */
    path_of(path, pkg, "manifest.json");
    text = slurp(path, &len);
    CHECK_EQ(0, hub_pkg_manifest_parse(text, len, &u, &err));
    CHECK_STR_EQ("", u.publisher);
    CHECK_STR_EQ("", u.key_id);
    hub_pkg_manifest_free(&u);
    free(text);

    REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err) == 0);
    memset(&err, 0, sizeof(err));
    CHECK_EQ(0, hub_pkg_verify_dir(pkg, trust, 1, &m, &err));
    CHECK_STR_EQ("", err.msg);
    CHECK_STR_EQ("template", m.id);
    CHECK_STR_EQ("Template (Acme)", m.display_name);
    CHECK_STR_EQ("1.0.0", m.version);
    CHECK_STR_EQ("simplix-test", m.publisher);
    CHECK_STR_EQ("t1", m.key_id);
    CHECK_STR_EQ("api_key", m.auth_kind);
    CHECK_STR_EQ("template.so", m.file);
    CHECK_STR_EQ("", m.icon);
    CHECK_EQ(SX_ABI_MAJOR, m.abi_major);
    CHECK_EQ(SX_ABI_MINOR, m.abi_minor);
    CHECK_EQ(0, m.webhooks);
    CHECK_EQ(SX_DIR_IMPORT | SX_DIR_EXPORT, m.entity_dirs[SX_ENTITY_CUSTOMER]);
    CHECK_EQ(0, m.entity_dirs[SX_ENTITY_ORDER]);
    CHECK_EQ(2, m.n_config);
    CHECK_STR_EQ("base_url", m.config[0].key);
    CHECK_EQ(SX_CFG_URL, m.config[0].kind);
    CHECK_EQ(1, m.config[0].required);
    CHECK_STR_EQ("api_key", m.config[1].key);
    CHECK_EQ(SX_CFG_SECRET, m.config[1].kind);
    /* The .so's hash and size; the manifest's exact bytes. */
    so = slurp(TEMPLATE_SO, &so_len);
    REQUIRE(hub_crypto_sha256_hex(so, so_len, hex) == 0);
    CHECK_STR_EQ(hex, m.sha256);
    CHECK_EQ((long long)so_len, m.size);
    free(so);
    text = slurp(path, &len);
    CHECK_EQ(len, m.json_len);
    CHECK_MEM_EQ(text, len, m.json, m.json_len);
    CHECK_STR_HAS(text, "\"description\": \"Template for tests.\\nSecond line.\"");
    CHECK_STR_HAS(text, "\"platforms\": [\n    \"template\"\n  ]");
    free(text);
    /* manifest.sig: 64 bytes in base64 on one line. */
    path_of(path, pkg, "manifest.sig");
    sig = slurp(path, &sig_len);
    CHECK_EQ(89, sig_len);
    CHECK(sig[88] == '\n' && strchr(sig, '\n') == sig + 88);
    free(sig);
    /* Signed again (another sign run): still verifies. */
    CHECK_EQ(0, hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err));
    hub_pkg_manifest_free(&m);
    CHECK_EQ(0, hub_pkg_verify_dir(pkg, trust, 0, &m, &err));
    hub_pkg_manifest_free(&m);
    /* A hub that trusts nobody. */
    CHECK_EQ(HUB_E_SIGNATURE, hub_pkg_verify_dir(pkg, NULL, 0, &m, &err));
    CHECK_STR_EQ("publisher simplix-test key t1 is not trusted by this hub", err.msg);
}

static void
test_refuse_unsigned(void)
{
    char pkg[PATH_MAX], path[PATH_MAX];

    fresh(pkg, 0, NULL);
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "the package is not signed (no manifest.sig)");
    /* Signed, then the signature removed. */
    fresh(pkg, 1, NULL);
    path_of(path, pkg, "manifest.sig");
    REQUIRE(unlink(path) == 0);
    CHECK_REFUSED(pkg, 0, HUB_E_SIGNATURE, "the package is not signed (no manifest.sig)");
    /* A signature next to a manifest that names no publisher. */
    fresh(pkg, 0, NULL);
    sign_raw(pkg, key1);
    CHECK_REFUSED(pkg, 0, HUB_E_SIGNATURE, "the package is not signed (manifest.json names no "
                  "publisher and key_id)");
}

static void
test_refuse_bad_signature(void)
{
    struct hub_error err;
    char             pkg[PATH_MAX], path[PATH_MAX];

    /* One byte of the manifest changed after signing. */
    fresh(pkg, 1, NULL);
    edit(pkg, "manifest.json", "Template for tests.", "Template for tesTs.");
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "the package signature does not verify: the "
                  "manifest was changed or signed by another key");
    /* Signed by another key claiming the trusted publisher's name and key id. */
    fresh(pkg, 0, NULL);
    REQUIRE(hub_pkg_sign(pkg, key2, "simplix-test", "t1", &err) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "the package signature does not verify: the "
                  "manifest was changed or signed by another key");
    /* Not a signature at all. */
    fresh(pkg, 1, NULL);
    path_of(path, pkg, "manifest.sig");
    spit(path, "bm90IGEgc2lnbmF0dXJl\n", 21);
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "manifest.sig is not an Ed25519 signature (64 bytes "
                  "in base64 on one line)");
    /* A symbolic link instead of the signature. */
    REQUIRE(unlink(path) == 0);
    REQUIRE(symlink("/etc/hostname", path) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "manifest.sig is a symbolic link; a package holds "
                  "regular files only");
    /* A FIFO would block a plain open(): refused at once. */
    REQUIRE(unlink(path) == 0);
    REQUIRE(mkfifo(path, 0644) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "manifest.sig is not a regular file");
}

static void
test_refuse_untrusted(void)
{
    struct hub_error err;
    char             pkg[PATH_MAX];

    fresh(pkg, 0, NULL);
    REQUIRE(hub_pkg_sign(pkg, key2, "mallory", "m1", &err) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "publisher mallory key m1 is not trusted by this hub");
    /* A trusted publisher, an unknown key id. */
    fresh(pkg, 0, NULL);
    REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t2", &err) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "publisher simplix-test key t2 is not trusted by this "
                  "hub");
}

static void
test_refuse_hash_mismatch(void)
{
    char   pkg[PATH_MAX], path[PATH_MAX], *so;
    size_t len;
    FILE  *f;

    /* One byte appended to the .so. */
    fresh(pkg, 1, NULL);
    path_of(path, pkg, "template.so");
    f = fopen(path, "ab");
    REQUIRE(f != NULL);
    fputc('x', f);
    fclose(f);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the .so does not match the manifest's SHA-256");
    /* One byte changed, same size. */
    fresh(pkg, 1, NULL);
    path_of(path, pkg, "template.so");
    so = slurp(path, &len);
    so[len / 2] ^= 1;
    spit(path, so, len);
    free(so);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the .so does not match the manifest's SHA-256");
    /* A symbolic link to the real thing is refused all the same. */
    REQUIRE(unlink(path) == 0);
    REQUIRE(symlink(TEMPLATE_SO, path) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "template.so is a symbolic link; a package holds "
                  "regular files only");
    /* Missing. */
    REQUIRE(unlink(path) == 0);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the package has no template.so");
}

static void
test_refuse_abi(void)
{
    struct hub_error err;
    char             pkg[PATH_MAX], want[160], from[32];

    snprintf(from, sizeof(from), "\"sdk_abi\": \"%u.%u\"", SX_ABI_MAJOR, SX_ABI_MINOR);
    fresh(pkg, 1, NULL);
    edit(pkg, "manifest.json", from, "\"sdk_abi\": \"2.0\"");
    REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err) == 0);
    snprintf(want, sizeof(want), "the package was built for SDK ABI 2.0; this hub serves "
             "%u.0 to %u.%u", SX_ABI_MAJOR, SX_ABI_MAJOR, SX_ABI_MINOR);
    CHECK_EQ(1, SX_ABI_MAJOR);
    CHECK_STR_EQ("the package was built for SDK ABI 2.0; this hub serves 1.0 to 1.2", want);
    CHECK_REFUSED(pkg, 1, HUB_E_PLUGIN_ABI, want);
    CHECK_REFUSED(pkg, 0, HUB_E_PLUGIN_ABI, want);
    /* A newer minor than the hub's. */
    fresh(pkg, 1, NULL);
    snprintf(want, sizeof(want), "\"sdk_abi\": \"%u.%u\"", SX_ABI_MAJOR, SX_ABI_MINOR + 1);
    edit(pkg, "manifest.json", from, want);
    REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err) == 0);
    snprintf(want, sizeof(want), "the package was built for SDK ABI %u.%u; this hub serves "
             "%u.0 to %u.%u", SX_ABI_MAJOR, SX_ABI_MINOR + 1, SX_ABI_MAJOR, SX_ABI_MAJOR,
             SX_ABI_MINOR);
    CHECK_REFUSED(pkg, 0, HUB_E_PLUGIN_ABI, want);
}

static void
test_refuse_descriptor(void)
{
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    pkg[PATH_MAX], from[32];
    static const struct {
        const char *from, *to, *sentence;
    } cases[] = {
        { "\"version\": \"1.0.0\"", "\"version\": \"1.2.0\"",
          "the manifest says version 1.2.0 but the connector says 1.0.0" },
        { "\"webhooks\": false", "\"webhooks\": true",
          "the manifest says webhooks true but the connector says false" },
        { "\"auth_kind\": \"api_key\"", "\"auth_kind\": \"basic\"",
          "the manifest says auth kind basic but the connector says api_key" },
        { "\"import\",\n      \"export\"", "\"import\"",
          "the manifest says entity customer is import but the connector says import and "
          "export" },
        { "\"customer\": [", "\"order\": [\n      \"import\"\n    ],\n    \"customer\": [",
          "the manifest says entity order is import but the connector says absent" },
        { "\"display_name\": \"Template (Acme)\"", "\"display_name\": \"Acme Deluxe\"",
          "the manifest says display name \"Acme Deluxe\" but the connector says \"Template "
          "(Acme)\"" },
        { "\"required\": true", "\"required\": false",
          "the manifest says config field base_url is an optional url but the connector says "
          "a required url" },
        { "\"key\": \"api_key\"", "\"key\": \"token\"",
          "the manifest lists config field token where the connector has api_key" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fresh(pkg, 1, NULL);
        edit(pkg, "manifest.json", cases[i].from, cases[i].to);
        REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err) == 0);
        /* Everything before the descriptor is fine... */
        CHECK_EQ(0, hub_pkg_verify_dir(pkg, trust, 0, &m, &err));
        hub_pkg_manifest_free(&m);
        /* ...the connector says otherwise. */
        CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, cases[i].sentence);
    }
    /* sdk_abi that this hub serves, but not what the .so was built with. */
    if (SX_ABI_MINOR > 0) {
        fresh(pkg, 1, NULL);
        snprintf(from, sizeof(from), "\"sdk_abi\": \"%u.%u\"", SX_ABI_MAJOR, SX_ABI_MINOR);
        edit(pkg, "manifest.json", from, "\"sdk_abi\": \"1.0\"");
        REQUIRE(hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err) == 0);
        CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the manifest says SDK ABI 1.0 but the connector "
                      "was built for 1.2");
    }
}

static void
test_refuse_path_escape(void)
{
    static const char *const names[] = {
        "../template.so", "/tmp/x.so", ".hidden.so", "a/b.so", "a\\\\b.so", "..so",
        "template.so.txt", "..%2ftemplate.so"
    };
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    pkg[PATH_MAX], to[128], want[256], path[PATH_MAX], *text;
    const char             *shown;
    size_t                  i, len;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        fresh(pkg, 1, NULL);
        snprintf(to, sizeof(to), "\"file\": \"%s\"", names[i]);
        edit(pkg, "manifest.json", "\"file\": \"template.so\"", to);
        sign_raw(pkg, key1);                  /* hub_pkg_sign refuses such a manifest */
        shown = strcmp(names[i], "a\\\\b.so") == 0 ? "a\\b.so" : names[i];
        snprintf(want, sizeof(want), "the manifest's file \"%s\" is a path that escapes the "
                 "plugin folder", shown);
        CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, want);
        /* The parser says the same, and signing refuses it. */
        path_of(path, pkg, "manifest.json");
        text = slurp(path, &len);
        CHECK_EQ(HUB_E_REJECTED, hub_pkg_manifest_parse(text, len, &m, &err));
        CHECK_STR_EQ(want, err.msg);
        free(text);
        CHECK_EQ(HUB_E_REJECTED, hub_pkg_sign(pkg, key1, "simplix-test", "t1", &err));
        CHECK_STR_EQ(want, err.msg);
    }
    /* A plain name that is not the connector's. */
    fresh(pkg, 1, NULL);
    edit(pkg, "manifest.json", "\"file\": \"template.so\"", "\"file\": \"other.so\"");
    sign_raw(pkg, key1);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the manifest's file \"other.so\" must be "
                  "\"template.so\" (the connector id and .so)");
    /* Unsigned with an escaping name: "not signed" comes first. */
    fresh(pkg, 0, NULL);
    edit(pkg, "manifest.json", "\"file\": \"template.so\"", "\"file\": \"../template.so\"");
    CHECK_REFUSED(pkg, 1, HUB_E_SIGNATURE, "the package is not signed (no manifest.sig)");
}

static void
test_icon(void)
{
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    pkg[PATH_MAX], icon[PATH_MAX], path[PATH_MAX], to[128], want[256];
    static const char       svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" "
                                    "height=\"8\"><rect width=\"8\" height=\"8\"/></svg>\n";
    static const char *const bad[] = { "../icon.svg", "/tmp/icon.svg", ".icon.svg",
                                       "a/icon.svg", "..svg" };
    size_t                  i;

    path_of(icon, root, "acme.svg");
    spit(icon, svg, sizeof(svg) - 1);
    fresh(pkg, 1, icon);
    CHECK_EQ(0, hub_pkg_verify_dir(pkg, trust, 1, &m, &err));
    CHECK_STR_EQ("icon.svg", m.icon);
    CHECK_EQ(64, strlen(m.icon_sha256));
    hub_pkg_manifest_free(&m);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fresh(pkg, 1, icon);
        snprintf(to, sizeof(to), "\"icon\": \"%s\"", bad[i]);
        edit(pkg, "manifest.json", "\"icon\": \"icon.svg\"", to);
        sign_raw(pkg, key1);
        snprintf(want, sizeof(want), "the manifest's icon \"%s\" is a path that escapes the "
                 "plugin folder", bad[i]);
        CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, want);
    }
    fresh(pkg, 1, icon);
    edit(pkg, "manifest.json", "\"icon\": \"icon.svg\"", "\"icon\": \"icon.gif\"");
    sign_raw(pkg, key1);
    CHECK_REFUSED(pkg, 1, HUB_E_REJECTED, "the manifest's icon \"icon.gif\" is not a .svg or "
                  ".png file");
    /* The icon is covered by the signature through icon_sha256. */
    fresh(pkg, 1, icon);
    path_of(path, pkg, "icon.svg");
    spit(path, "<svg onload=\"alert(1)\"/>", 24);
    CHECK_REFUSED(pkg, 0, HUB_E_REJECTED, "the icon does not match the manifest's icon_sha256");
    /* Not an image, or the wrong type. */
    path_of(path, root, "fake.png");
    spit(path, svg, sizeof(svg) - 1);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_pack(TEMPLATE_SO, root, NULL, path, NULL, pkg, PATH_MAX,
                                         &err));
    CHECK_STR_HAS(err.msg, "is not a PNG image");
}

static void
test_manifest_parse(void)
{
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    pkg[PATH_MAX], path[PATH_MAX], *good, *big, *text;
    size_t                  len, i;
    static const struct {
        const char *from, *to, *msg;
    } edits[] = {
        { "\"format\": 1", "\"format\": 2",
          "manifest.json is not format 1, the only package format this hub reads" },
        { "\"format\": 1", "\"format\": 1, \"extra\": 1",
          "manifest.json has an unknown field \"extra\"" },
        { "\"format\": 1,", "",
          "manifest.json has no \"format\"" },
        { "\"id\": \"template\"", "\"id\": \"Template\"",
          "manifest.json: \"id\" must be 1 to 64 characters of [a-z0-9_]" },
        { "\"version\": \"1.0.0\"", "\"version\": \"1.0\"",
          "manifest.json: \"version\" must be a semantic version (MAJOR.MINOR.PATCH)" },
        { "\"version\": \"1.0.0\"", "\"version\": \"01.0.0\"",
          "manifest.json: \"version\" must be a semantic version (MAJOR.MINOR.PATCH)" },
        { "\"sdk_abi\": \"1.2\"", "\"sdk_abi\": \"1.x\"",
          "manifest.json: \"sdk_abi\" must be an SDK ABI version such as \"1.2\"" },
        { "\"auth_kind\": \"api_key\"", "\"auth_kind\": \"magic\"",
          "manifest.json: \"auth_kind\" must be none, oauth2_code, client_credentials, api_key "
          "or basic" },
        { "\"publisher\": \"simplix-test\"", "\"publisher\": \"\"",
          "manifest.json: \"publisher\" and \"key_id\" must both be set (signed) or both be "
          "empty (unsigned)" },
        { "\"size\": ", "\"size\": -",
          "manifest.json: \"size\" must be the .so's size in bytes, 1 to 67108864" },
        { "\"webhook_topics\": [", "\"webhook_topics\": [\"orders/create\"",
          "manifest.json lists webhook topics but \"webhooks\" is false" },
        { "\"created_at\": \"", "\"created_at\": \"x",
          "manifest.json: \"created_at\" must be a UTC time such as \"2025-03-01T12:00:00Z\"" },
        { "\"kind\": \"url\"", "\"kind\": \"color\"",
          "manifest.json: config field \"base_url\" has kind \"color\" (want string, secret, "
          "url, int or bool)" },
        { "\"key\": \"api_key\"", "\"key\": \"base_url\"",
          "manifest.json: config field \"base_url\" is listed twice" },
        { "\"platforms\": [\n    \"template\"\n  ]", "\"platforms\": []",
          "manifest.json: \"platforms\" must be an array of 1 to 32 distinct names of "
          "[a-z0-9_.-]" },
        { "\"entities\": {", "\"entities\": {\"invoice\": [\"import\"], ",
          "manifest.json: \"entities\" must be an object of entity names (customer, product, "
          "order, payment) to [\"import\"] / [\"export\"] / both" },
        { "\"description\": \"", "\"description\": \"\\u0007",
          "manifest.json: \"description\" must be text of at most 2000 bytes" },
        { "\"sha256\": \"", "\"sha256\": \"A",
          "manifest.json: \"sha256\" must be 64 lowercase hexadecimal digits" },
        { "\"file\": \"template.so\",", "\"file\": \"template.so\", \"icon_sha256\": \"x\",",
          "manifest.json has \"icon_sha256\" but no \"icon\"" },
        { "\n}", "\n} x", "manifest.json is not valid UTF-8 JSON" },
        { "Template for tests.", "Template \xff tests.", "manifest.json is not valid UTF-8 JSON" },
        { "\"id\": \"template\"", "\"id\": \"template\\u0000\"",
          "manifest.json: \"id\" must be 1 to 64 characters of [a-z0-9_]" },
    };

    fresh(pkg, 1, NULL);
    path_of(path, pkg, "manifest.json");
    good = slurp(path, &len);
    CHECK_EQ(0, hub_pkg_manifest_parse(good, len, &m, &err));
    hub_pkg_manifest_free(&m);
    hub_pkg_manifest_free(&m);                 /* twice is fine */

    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        spit(path, good, len);
        edit(pkg, "manifest.json", edits[i].from, edits[i].to);
        text = slurp(path, &len);
        memset(&err, 0, sizeof(err));
        CHECK_EQ(HUB_E_INVALID, hub_pkg_manifest_parse(text, len, &m, &err));
        CHECK_STR_EQ(edits[i].msg, err.msg);
        CHECK(m.json == NULL);
        free(text);
        /* verify reports the manifest before anything else. */
        CHECK_REFUSED(pkg, 1, HUB_E_INVALID, edits[i].msg);
        len = strlen(good);
    }
    CHECK_EQ(HUB_E_INVALID, hub_pkg_manifest_parse("", 0, &m, &err));
    CHECK_STR_EQ("manifest.json is empty", err.msg);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_manifest_parse("[1]", 3, &m, &err));
    CHECK_STR_EQ("manifest.json is not a JSON object", err.msg);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_manifest_parse("{\"format\":1}\0x", 15, &m, &err));
    CHECK_STR_EQ("manifest.json is not valid UTF-8 JSON", err.msg);
    /* Not NUL-terminated: only `len` bytes are read. */
    CHECK_EQ(0, hub_pkg_manifest_parse(good, len, &m, &err));
    hub_pkg_manifest_free(&m);
    big = malloc(HUB_PKG_MANIFEST_MAX + 2);
    REQUIRE(big != NULL);
    memset(big, ' ', HUB_PKG_MANIFEST_MAX + 1);
    memcpy(big, good, len);
    CHECK_EQ(0, hub_pkg_manifest_parse(big, HUB_PKG_MANIFEST_MAX, &m, &err));
    hub_pkg_manifest_free(&m);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_manifest_parse(big, HUB_PKG_MANIFEST_MAX + 1, &m, &err));
    CHECK_STR_EQ("manifest.json is 65537 bytes, more than the 65536 allowed", err.msg);
    spit(path, big, HUB_PKG_MANIFEST_MAX + 1);
    CHECK_REFUSED(pkg, 1, HUB_E_INVALID, "manifest.json is larger than 65536 bytes");
    free(big);
    unlink(path);
    CHECK_REFUSED(pkg, 1, HUB_E_INVALID, "the package has no manifest.json");
    free(good);
}

static void
test_semver(void)
{
    static const struct {
        const char *a, *b;
        int         want;
    } cases[] = {
        { "1.0.0", "1.0.0", 0 },
        { "1.0.0", "1.0.1", -1 },
        { "1.2.0", "1.10.0", -1 },
        { "2.0.0", "10.0.0", -1 },
        { "1.0.0-rc.1", "1.0.0", -1 },
        { "1.0.0-alpha", "1.0.0-alpha.1", -1 },
        { "1.0.0-alpha.1", "1.0.0-alpha.beta", -1 },
        { "1.0.0-alpha.beta", "1.0.0-beta", -1 },
        { "1.0.0-beta.2", "1.0.0-beta.11", -1 },
        { "1.0.0-rc.1", "1.0.0-rc.1", 0 },
        { "1.0.0+build.1", "1.0.0+build.2", 0 },
        { "1.0.0+b", "1.0.0", 0 },
        { "99999999999999999999.0.0", "99999999999999999998.0.0", 1 },
        { "garbage", "0.0.0", -1 },
        { "1.0", "0.0.1", -1 },
        { "01.0.0", "0.0.1", -1 },
        { "1.0.0-01", "0.0.1", -1 },
        { "1.0.0-", "0.0.1", -1 },
        { "1.0.0+", "0.0.1", -1 },
        { "1.0.0-a..b", "0.0.1", -1 },
        { NULL, "0.0.1", -1 },
        { "a", "b", -1 },
        { "b", "a", 1 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int c = hub_pkg_semver_cmp(cases[i].a, cases[i].b);
        int r = hub_pkg_semver_cmp(cases[i].b, cases[i].a);

        if ((c > 0) - (c < 0) != cases[i].want || (r > 0) - (r < 0) != -cases[i].want)
            fprintf(stderr, "semver %s vs %s: %d / %d\n", cases[i].a ? cases[i].a : "(null)",
                    cases[i].b, c, r);
        CHECK_EQ(cases[i].want, (c > 0) - (c < 0));
        CHECK_EQ(-cases[i].want, (r > 0) - (r < 0));
    }
    CHECK(hub_pkg_semver_valid("0.0.0"));
    CHECK(hub_pkg_semver_valid("1.2.3-rc.1+build.5"));
    CHECK(!hub_pkg_semver_valid("1.2.3.4"));
    CHECK(!hub_pkg_semver_valid("v1.2.3"));
    CHECK(!hub_pkg_semver_valid("1.2.3/.."));
    CHECK(hub_pkg_abi_compatible("1.0"));
    CHECK(hub_pkg_abi_compatible("1.1"));
    CHECK(hub_pkg_abi_compatible("1.2"));
    CHECK(!hub_pkg_abi_compatible("1.3"));
    CHECK(!hub_pkg_abi_compatible("2.0"));
    CHECK(!hub_pkg_abi_compatible("0.9"));
    CHECK(!hub_pkg_abi_compatible("1.01"));
    CHECK(!hub_pkg_abi_compatible(NULL));
}

/* Copy packages/template/1.0.0 to `version` with sdk_abi `abi`. */
static void
add_version(const char *mk, const char *version, const char *abi)
{
    char src[PATH_MAX], dst[PATH_MAX], sub[128], path[PATH_MAX], from[32], to[64], *text;
    size_t len;

    snprintf(sub, sizeof(sub), "packages/template/1.0.0");
    path_of(src, mk, sub);
    snprintf(sub, sizeof(sub), "packages/template/%s", version);
    path_of(dst, mk, sub);
    REQUIRE(mkdir(dst, 0755) == 0);
    path_of(path, src, "manifest.json");
    text = slurp(path, &len);
    path_of(path, dst, "manifest.json");
    spit(path, text, len);
    free(text);
    snprintf(to, sizeof(to), "\"version\": \"%s\"", version);
    edit(dst, "manifest.json", "\"version\": \"1.0.0\"", to);
    snprintf(from, sizeof(from), "\"sdk_abi\": \"%u.%u\"", SX_ABI_MAJOR, SX_ABI_MINOR);
    snprintf(to, sizeof(to), "\"sdk_abi\": \"%s\"", abi);
    edit(dst, "manifest.json", from, to);
}

static void
test_index(void)
{
    struct json_object *idx, *pkgs, *p, *vers, *v;
    struct hub_error    err;
    struct stat         st1, st2;
    char                pkg[PATH_MAX], mk[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
    char                want[PATH_MAX + 64];
    char               *before, *after;
    const char         *text;
    size_t              i;
    static const char  *order[] = { "0.9.0", "1.0.0", "1.1.0-rc.1", "1.1.0", "2.0.0" };

    fresh(pkg, 1, NULL);
    snprintf(mk, sizeof(mk), "%.*s", (int)(strstr(pkg, "/packages/") - pkg), pkg);
    /* No index yet. */
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_index_load(mk, &idx, &err));
    CHECK_STR_HAS(err.msg, "has no index.json");
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_find(mk, "template", NULL, dir, sizeof(dir), &err));

    add_version(mk, "1.1.0", "1.0");
    add_version(mk, "2.0.0", "2.0");           /* newest, but for an ABI this hub cannot serve */
    add_version(mk, "0.9.0", "1.0");
    add_version(mk, "1.1.0-rc.1", "1.1");
    CHECK_EQ(0, hub_pkg_index_write(mk, &err));
    CHECK_EQ(0, hub_pkg_index_load(mk, &idx, &err));
    REQUIRE(json_object_object_get_ex(idx, "packages", &pkgs));
    REQUIRE(json_object_array_length(pkgs) == 1);
    p = json_object_array_get_idx(pkgs, 0);
    CHECK_STR_EQ("template", json_object_get_string(json_object_object_get(p, "id")));
    CHECK_STR_EQ("Template (Acme)",
                 json_object_get_string(json_object_object_get(p, "display_name")));
    CHECK_STR_EQ("Template for tests.",
                 json_object_get_string(json_object_object_get(p, "summary")));
    REQUIRE(json_object_object_get_ex(p, "versions", &vers));
    REQUIRE(json_object_array_length(vers) == 5);
    for (i = 0; i < 5; i++) {
        v = json_object_array_get_idx(vers, i);
        CHECK_STR_EQ(order[i], json_object_get_string(json_object_object_get(v, "version")));
        snprintf(want, sizeof(want), "packages/template/%s", order[i]);
        CHECK_STR_EQ(want, json_object_get_string(json_object_object_get(v, "path")));
        CHECK_STR_EQ("simplix-test",
                     json_object_get_string(json_object_object_get(v, "publisher")));
    }
    CHECK_STR_EQ("2.0", json_object_get_string(json_object_object_get(
                            json_object_array_get_idx(vers, 4), "sdk_abi")));
    json_object_put(idx);

    /* The highest version this hub serves; an explicit one whatever its ABI. */
    CHECK_EQ(0, hub_pkg_find(mk, "template", NULL, dir, sizeof(dir), &err));
    snprintf(want, sizeof(want), "%s/packages/template/1.1.0", mk);
    CHECK_STR_EQ(want, dir);
    CHECK_EQ(0, hub_pkg_find(mk, "template", "2.0.0", dir, sizeof(dir), &err));
    snprintf(want, sizeof(want), "%s/packages/template/2.0.0", mk);
    CHECK_STR_EQ(want, dir);
    CHECK_EQ(0, hub_pkg_find(mk, "template", "1.0.0", dir, sizeof(dir), &err));
    CHECK_STR_EQ(pkg, dir);
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_find(mk, "template", "3.0.0", dir, sizeof(dir), &err));
    CHECK_STR_EQ("the marketplace has no version 3.0.0 of template", err.msg);
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_find(mk, "shopify", NULL, dir, sizeof(dir), &err));
    CHECK_STR_EQ("the marketplace has no package shopify", err.msg);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_find(mk, "../x", NULL, dir, sizeof(dir), &err));
    CHECK_EQ(HUB_E_INVALID, hub_pkg_find(mk, "template", "1.0.0/../..", dir, sizeof(dir),
                                         &err));

    /* Idempotent: the same bytes, the file left alone. */
    path_of(path, mk, "index.json");
    before = slurp(path, NULL);
    REQUIRE(stat(path, &st1) == 0);
    CHECK_EQ(0, hub_pkg_index_write(mk, &err));
    after = slurp(path, NULL);
    REQUIRE(stat(path, &st2) == 0);
    CHECK_STR_EQ(before, after);
    CHECK_EQ((long long)st1.st_ino, (long long)st2.st_ino);
    free(before);
    free(after);

    /* The index's path is checked against the id and version it is listed under. */
    edit(mk, "index.json", "\"path\": \"packages/template/1.1.0\"",
         "\"path\": \"packages/../../etc\"");
    CHECK_EQ(HUB_E_REJECTED, hub_pkg_find(mk, "template", NULL, dir, sizeof(dir), &err));
    CHECK_STR_EQ("index.json: template 1.1.0 has path \"packages/../../etc\" instead of "
                 "\"packages/template/1.1.0\"", err.msg);

    /* Only versions this hub cannot serve. */
    path_of(path, mk, "index.json");
    text = "{\"format\":1,\"packages\":[{\"id\":\"x\",\"versions\":[{\"version\":\"1.0.0\","
           "\"sdk_abi\":\"9.0\",\"path\":\"packages/x/1.0.0\"}]}]}";
    spit(path, text, strlen(text));
    CHECK_EQ(HUB_E_NOT_FOUND, hub_pkg_find(mk, "x", NULL, dir, sizeof(dir), &err));
    CHECK_STR_EQ("the marketplace has no version of x that this hub can serve (SDK ABI 1.0 to "
                 "1.2)", err.msg);
    spit(path, "{\"format\":2,\"packages\":[]}", 26);
    CHECK_EQ(HUB_E_INVALID, hub_pkg_index_load(mk, &idx, &err));

    /* A manifest in the wrong folder is refused by the indexer. */
    add_version(mk, "3.0.0", "1.1");
    edit(mk, "packages/template/3.0.0/manifest.json", "\"version\": \"3.0.0\"",
         "\"version\": \"3.0.1\"");
    CHECK_EQ(HUB_E_INVALID, hub_pkg_index_write(mk, &err));
    CHECK_STR_EQ("packages/template/3.0.0/manifest.json is for template 3.0.1; it belongs in "
                 "packages/template/3.0.1", err.msg);
}

static void
test_copy_verified(void)
{
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    pkg[PATH_MAX], dst_dir[PATH_MAX], dst[PATH_MAX], path[PATH_MAX];
    char                    hex[65], *data;
    size_t                  len;

    fresh(pkg, 1, NULL);
    REQUIRE(hub_pkg_verify_dir(pkg, trust, 1, &m, &err) == 0);
    path_of(dst_dir, root, "plugins");
    REQUIRE(mkdir(dst_dir, 0755) == 0);
    path_of(dst, dst_dir, "template@1.0.0.so");
    CHECK_EQ(0, hub_pkg_copy_verified(pkg, &m, dst, &err));
    data = slurp(dst, &len);
    REQUIRE(hub_crypto_sha256_hex(data, len, hex) == 0);
    CHECK_STR_EQ(m.sha256, hex);
    free(data);
    /* Swapped after verification: not copied. */
    path_of(path, pkg, "template.so");
    spit(path, "not a connector", 15);
    path_of(dst, dst_dir, "template@1.0.1.so");
    CHECK_EQ(HUB_E_REJECTED, hub_pkg_copy_verified(pkg, &m, dst, &err));
    CHECK_STR_EQ("the .so does not match the manifest's SHA-256", err.msg);
    CHECK(access(dst, F_OK) != 0);
    hub_pkg_manifest_free(&m);
}

static void
test_cli(void)
{
    char out[8192], pkg[PATH_MAX + 64], mk[PATH_MAX], key[PATH_MAX], tp[PATH_MAX];
    int  rc;

    if (access(SX_HUB_BIN, X_OK) != 0) {
        fprintf(stderr, "note: %s not built; CLI checks skipped\n", SX_HUB_BIN);
        return;
    }
    path_of(mk, root, "cli");
    path_of(key, root, "cli.pem");
    path_of(tp, mk, "trusted-keys.json");
    REQUIRE(mkdir(mk, 0755) == 0);
    rc = run(out, sizeof(out), "%s marketplace keygen --out %s --publisher acme --key-id a1 "
             "--trust %s 2>/dev/null", SX_HUB_BIN, key, tp);
    CHECK_EQ(0, rc);
    CHECK_STR_HAS(out, "{\"publisher\": \"acme\", \"key_id\": \"a1\", \"public_key\": \"");
    rc = run(out, sizeof(out), "%s marketplace pack %s --dir %s --description 'From the CLI' "
             "2>&1", SX_HUB_BIN, TEMPLATE_SO, mk);
    CHECK_EQ(0, rc);
    snprintf(pkg, sizeof(pkg), "%s/packages/template/1.0.0", mk);
    CHECK_STR_HAS(out, pkg);
    rc = run(out, sizeof(out), "%s marketplace verify %s 2>&1", SX_HUB_BIN, pkg);
    CHECK_EQ(1, rc);
    CHECK_STR_EQ("simplix-hub: refused: the package is not signed (no manifest.sig)\n", out);
    rc = run(out, sizeof(out), "%s marketplace sign %s --key %s --publisher acme --key-id a1 "
             "2>&1", SX_HUB_BIN, pkg, key);
    CHECK_EQ(0, rc);
    rc = run(out, sizeof(out), "%s marketplace verify %s 2>&1", SX_HUB_BIN, pkg);
    CHECK_EQ(0, rc);
    CHECK_STR_EQ("ok template 1.0.0 signed by acme/a1\n", out);
    rc = run(out, sizeof(out), "%s marketplace verify %s --trust %s 2>&1", SX_HUB_BIN, pkg,
             trust_path);
    CHECK_EQ(1, rc);
    CHECK_STR_EQ("simplix-hub: refused: publisher acme key a1 is not trusted by this hub\n", out);
    rc = run(out, sizeof(out), "%s marketplace index %s 2>&1", SX_HUB_BIN, mk);
    CHECK_EQ(0, rc);
    CHECK_STR_HAS(out, "index.json: 1 packages, 1 versions");
    rc = run(out, sizeof(out), "%s marketplace nosuch 2>&1", SX_HUB_BIN);
    CHECK_EQ(2, rc);
    CHECK_STR_HAS(out, "unknown marketplace command \"nosuch\"");
    CHECK_STR_HAS(out, "Usage: simplix-hub marketplace COMMAND");
    rc = run(out, sizeof(out), "%s marketplace --help", SX_HUB_BIN);
    CHECK_EQ(0, rc);
    CHECK_STR_HAS(out, "  verify ");
    rc = run(out, sizeof(out), "%s marketplace pack --help", SX_HUB_BIN);
    CHECK_EQ(0, rc);
    CHECK_STR_HAS(out, "Usage: simplix-hub marketplace pack FILE.so --dir MARKETPLACE_DIR");
    rc = run(out, sizeof(out), "%s marketplace sign %s 2>&1", SX_HUB_BIN, pkg);
    CHECK_EQ(1, rc);
    CHECK_STR_HAS(out, "Usage: simplix-hub marketplace sign");
}

int
main(void)
{
    struct hub_error err;
    const char      *tmp = getenv("TMPDIR");

    if (access(TEMPLATE_SO, R_OK) != 0)
        check_skip(TEMPLATE_SO " is not built");
    snprintf(root, sizeof(root), "%s/sx-mkt-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    REQUIRE(mkdtemp(root) != NULL);
    path_of(key1, root, "k1.pem");
    path_of(key2, root, "k2.pem");
    path_of(trust_path, root, "trusted-keys.json");
    REQUIRE(hub_pkg_keygen(key1, "simplix-test", "t1", trust_path, &err) == 0);
    REQUIRE(hub_pkg_keygen(key2, "mallory", "m1", NULL, &err) == 0);
    REQUIRE(hub_pkg_trust_load(trust_path, &trust, &err) == 0);

    RUN_TEST(test_keygen);
    RUN_TEST(test_trust_add);
    RUN_TEST(test_trust_file_errors);
    RUN_TEST(test_pack_sign_verify);
    RUN_TEST(test_refuse_unsigned);
    RUN_TEST(test_refuse_bad_signature);
    RUN_TEST(test_refuse_untrusted);
    RUN_TEST(test_refuse_hash_mismatch);
    RUN_TEST(test_refuse_abi);
    RUN_TEST(test_refuse_descriptor);
    RUN_TEST(test_refuse_path_escape);
    RUN_TEST(test_icon);
    RUN_TEST(test_manifest_parse);
    RUN_TEST(test_semver);
    RUN_TEST(test_index);
    RUN_TEST(test_copy_verified);
    RUN_TEST(test_cli);

    hub_pkg_trust_free(trust);
    if (check_failed == 0)
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "files kept in %s\n", root);
    return check_report();
}
