/*
 * host/crypto: sealing round trips, tamper refusal byte by byte, key ids and rotation, key
 * files, and the primitives against published vectors (RFC 4231, RFC 4648, FIPS 180-2 and
 * the Shopify vectors of the project's shared test vectors, vectors/shopify.json).
 */
#include "check.h"
#include "crypto/crypto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void
make_ring(struct hub_crypto_keyring *ring, const char *id, uint8_t fill)
{
    uint8_t key[HUB_CRYPTO_KEY_LEN];

    memset(ring, 0, sizeof(*ring));
    memset(key, fill, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(ring, id, key, 1, NULL) == 0);
}

static void
test_seal_round_trip(void)
{
    struct hub_crypto_keyring ring;
    struct hub_error          err;
    const char               *secret = "shpat_0123456789abcdef";
    uint8_t                  *blob = NULL, *blob2 = NULL, *plain = NULL;
    size_t                    blen = 0, blen2 = 0, plen = 0;

    make_ring(&ring, "k1", 0x11);
    CHECK_EQ(0, hub_crypto_seal(&ring, secret, strlen(secret), &blob, &blen, &err));
    CHECK_EQ(HUB_CRYPTO_SEALED_LEN(strlen(secret), 2), blen);
    REQUIRE(blob != NULL);
    CHECK_EQ(1, blob[0]);
    CHECK_EQ(2, blob[1]);
    CHECK_MEM_EQ("k1", 2, blob + 2, 2);
    /* the plaintext does not appear in the blob */
    CHECK(memmem(blob, blen, "shpat_", 6) == NULL);

    CHECK_EQ(0, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    CHECK_EQ(strlen(secret), plen);
    CHECK_STR_EQ(secret, (const char *)plain);      /* NUL-terminated for convenience */
    hub_crypto_free_secret(plain, plen);

    /* two seals of the same secret differ (random nonce) */
    CHECK_EQ(0, hub_crypto_seal(&ring, secret, strlen(secret), &blob2, &blen2, &err));
    CHECK_EQ(blen, blen2);
    CHECK(memcmp(blob, blob2, blen) != 0);
    free(blob2);
    free(blob);

    /* empty secret */
    CHECK_EQ(0, hub_crypto_seal(&ring, NULL, 0, &blob, &blen, &err));
    CHECK_EQ(0, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    CHECK_EQ(0, plen);
    CHECK_EQ(0, plain[0]);
    hub_crypto_free_secret(plain, plen);
    free(blob);

    /* binary secret with NULs, largest allowed, and one byte over */
    {
        size_t   n = HUB_CRYPTO_MAX_PLAINTEXT;
        uint8_t *big = calloc(1, n + 1);

        REQUIRE(big != NULL);
        big[7] = 0xff;
        big[n - 1] = 0x42;
        CHECK_EQ(0, hub_crypto_seal(&ring, big, n, &blob, &blen, &err));
        CHECK_EQ(0, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
        CHECK_EQ(n, plen);
        CHECK(plain != NULL && memcmp(plain, big, n) == 0);
        hub_crypto_free_secret(plain, plen);
        free(blob);
        CHECK_EQ(HUB_E_LIMIT, hub_crypto_seal(&ring, big, n + 1, &blob, &blen, &err));
        CHECK(blob == NULL);
        free(big);
    }
    hub_crypto_keyring_wipe(&ring);
    CHECK_EQ(0, ring.nkeys);

    /* empty ring */
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_seal(&ring, "x", 1, &blob, &blen, &err));
    CHECK_STR_HAS(err.msg, "no master key");
}

static void
test_tamper_each_byte(void)
{
    struct hub_crypto_keyring ring;
    struct hub_error          err;
    uint8_t                  *blob = NULL, *plain = NULL;
    size_t                    blen = 0, plen = 0, i;
    int                       bit;

    make_ring(&ring, "key-a", 0x22);
    REQUIRE(hub_crypto_seal(&ring, "consumer_secret", 15, &blob, &blen, &err) == 0);
    /* Flip each bit of each byte: version, id_len, key id, nonce, ciphertext, tag. */
    for (i = 0; i < blen; i++) {
        for (bit = 0; bit < 8; bit++) {
            int rc;

            blob[i] ^= (uint8_t)(1u << bit);
            rc = hub_crypto_open(&ring, blob, blen, &plain, &plen, &err);
            blob[i] ^= (uint8_t)(1u << bit);
            if (rc != HUB_E_CRYPTO) {
                CHECK_FAIL_AT(__FILE__, __LINE__, "byte %zu bit %d: rc %d", i, bit, rc);
                hub_crypto_free_secret(plain, plen);
            } else {
                check_passed++;
                CHECK(plain == NULL);
            }
        }
    }
    /* the tag check message names the part and the key */
    blob[blen - 1] ^= 1;
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    CHECK_STR_HAS(err.msg, "fails authentication");
    blob[blen - 1] ^= 1;
    /* every truncation, and an extra byte */
    for (i = 0; i < blen; i++)
        CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, blob, i, &plain, &plen, &err));
    {
        uint8_t *longer = malloc(blen + 1);

        REQUIRE(longer != NULL);
        memcpy(longer, blob, blen);
        longer[blen] = 0;
        CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, longer, blen + 1, &plain, &plen, &err));
        free(longer);
    }
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, NULL, 0, &plain, &plen, &err));
    /* still opens untouched */
    CHECK_EQ(0, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    hub_crypto_free_secret(plain, plen);
    /* unknown version */
    blob[0] = 2;
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    CHECK_STR_HAS(err.msg, "version 2");
    free(blob);
    hub_crypto_keyring_wipe(&ring);
}

static void
test_associated_data(void)
{
    struct hub_crypto_keyring ring;
    struct hub_error          err;
    uint8_t                  *blob = NULL, *plain = NULL;
    size_t                    blen = 0, plen = 0;

    make_ring(&ring, "k1", 0x33);
    REQUIRE(hub_crypto_seal_ad(&ring, "integrations.credentials:42", 27, "tok", 3, &blob,
                               &blen, &err) == 0);
    CHECK_EQ(0, hub_crypto_open_ad(&ring, "integrations.credentials:42", 27, blob, blen,
                                   &plain, &plen, &err));
    CHECK_STR_EQ("tok", (const char *)plain);
    hub_crypto_free_secret(plain, plen);
    /* copied to another row: refused */
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open_ad(&ring, "integrations.credentials:43", 27, blob,
                                              blen, &plain, &plen, &err));
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&ring, blob, blen, &plain, &plen, &err));
    free(blob);
    hub_crypto_keyring_wipe(&ring);
}

static void
test_key_ids_and_rotation(void)
{
    struct hub_crypto_keyring old_ring, new_ring, other;
    struct hub_error          err;
    uint8_t                   key[HUB_CRYPTO_KEY_LEN];
    uint8_t                  *old_blob = NULL, *new_blob = NULL, *plain = NULL;
    size_t                    old_len = 0, new_len = 0, plen = 0;
    char                      id[HUB_CRYPTO_KEY_ID_MAX + 1];

    make_ring(&old_ring, "2024a", 0x44);
    REQUIRE(hub_crypto_seal(&old_ring, "old secret", 10, &old_blob, &old_len, &err) == 0);

    /* wrong key id: the ring does not hold "2024a" */
    make_ring(&other, "2025b", 0x44);
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&other, old_blob, old_len, &plain, &plen, &err));
    CHECK_STR_HAS(err.msg, "'2024a'");
    CHECK_STR_HAS(err.msg, "not loaded");
    CHECK(plain == NULL);

    /* same id, different key material: authentication fails */
    hub_crypto_keyring_wipe(&other);
    make_ring(&other, "2024a", 0x45);
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&other, old_blob, old_len, &plain, &plen, &err));
    hub_crypto_keyring_wipe(&other);

    /* rotation: a new active key, the old one kept for opening */
    new_ring = old_ring;
    memset(key, 0x55, sizeof(key));
    CHECK_EQ(0, hub_crypto_keyring_add(&new_ring, "2025b", key, 1, &err));
    CHECK_STR_EQ("2025b", hub_crypto_keyring_active_id(&new_ring));
    CHECK_EQ(2, new_ring.nkeys);
    CHECK_EQ(0, hub_crypto_open(&new_ring, old_blob, old_len, &plain, &plen, &err));
    CHECK_STR_EQ("old secret", (const char *)plain);
    hub_crypto_free_secret(plain, plen);
    CHECK_EQ(1, hub_crypto_needs_reseal(&new_ring, old_blob, old_len));
    CHECK_EQ(0, hub_crypto_needs_reseal(&old_ring, old_blob, old_len));

    REQUIRE(hub_crypto_seal(&new_ring, "new secret", 10, &new_blob, &new_len, &err) == 0);
    CHECK_EQ(0, hub_crypto_blob_key_id(new_blob, new_len, id));
    CHECK_STR_EQ("2025b", id);
    CHECK_EQ(0, hub_crypto_needs_reseal(&new_ring, new_blob, new_len));
    /* the old ring cannot read what the new key sealed */
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&old_ring, new_blob, new_len, &plain, &plen, &err));
    /* the key id is authenticated: relabelling the blob does not help */
    memcpy(new_blob + 2, "2024a", 5);
    CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open(&new_ring, new_blob, new_len, &plain, &plen, &err));

    /* duplicates and bad ids */
    CHECK_EQ(0, hub_crypto_keyring_add(&new_ring, "2025b", key, 0, &err));   /* same: no-op */
    CHECK_EQ(2, new_ring.nkeys);
    key[0] ^= 1;
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_add(&new_ring, "2025b", key, 0, &err));
    CHECK_EQ(HUB_E_INVALID, hub_crypto_keyring_add(&new_ring, "", key, 0, &err));
    CHECK_EQ(HUB_E_INVALID, hub_crypto_keyring_add(&new_ring, "bad id", key, 0, &err));
    CHECK_EQ(HUB_E_INVALID, hub_crypto_keyring_add(&new_ring,
                                                   "x23456789012345678901234567890123", key, 0,
                                                   &err));

    free(old_blob);
    free(new_blob);
    hub_crypto_keyring_wipe(&old_ring);
    hub_crypto_keyring_wipe(&new_ring);
}

static void
test_keyring_parse(void)
{
    struct hub_crypto_keyring ring;
    struct hub_error          err;
    /* 32 bytes 0x00..0x1f as base64 and as hex */
    const char *b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    char        text[512];
    int         i;

    memset(&ring, 0, sizeof(ring));
    snprintf(text, sizeof(text), "# master keys\n\n  new:%s  \r\nold:%s\nurl:%s\n", b64, hex,
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    CHECK_EQ(0, hub_crypto_keyring_parse(&ring, text, strlen(text), "test", &err));
    CHECK_EQ(3, ring.nkeys);
    CHECK_STR_EQ("new", hub_crypto_keyring_active_id(&ring));
    CHECK_STR_EQ("old", ring.keys[1].id);
    CHECK_MEM_EQ(ring.keys[0].key, 32, ring.keys[1].key, 32);
    CHECK_MEM_EQ(ring.keys[0].key, 32, ring.keys[2].key, 32);
    CHECK_EQ(0x1f, ring.keys[0].key[31]);
    hub_crypto_keyring_wipe(&ring);

    /* errors name the line, never the key */
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, "", 0, "empty", &err));
    CHECK_STR_HAS(err.msg, "no key");
    hub_crypto_keyring_wipe(&ring);
    snprintf(text, sizeof(text), "a:%s\nnocolon\n", b64);
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, text, strlen(text), "f", &err));
    CHECK_STR_HAS(err.msg, "f line 2");
    hub_crypto_keyring_wipe(&ring);
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, "a:AAEC", 6, "f", &err));
    CHECK_STR_HAS(err.msg, "not 32 bytes");
    CHECK(strstr(err.msg, "AAEC") == NULL);
    hub_crypto_keyring_wipe(&ring);
    snprintf(text, sizeof(text), "a:%.63s\n", hex);        /* 63 hex digits */
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, text, strlen(text), "f", &err));
    hub_crypto_keyring_wipe(&ring);
    snprintf(text, sizeof(text), "a b:%s\n", b64);
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, text, strlen(text), "f", &err));
    hub_crypto_keyring_wipe(&ring);
    snprintf(text, sizeof(text), ":%s\n", b64);
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_parse(&ring, text, strlen(text), "f", &err));
    hub_crypto_keyring_wipe(&ring);
    /* too many keys */
    {
        char   many[4096];
        size_t len = 0;

        for (i = 0; i < HUB_CRYPTO_MAX_KEYS + 1; i++)
            len += (size_t)snprintf(many + len, sizeof(many) - len, "k%d:%s\n", i, b64);
        CHECK_EQ(HUB_E_LIMIT, hub_crypto_keyring_parse(&ring, many, len, "f", &err));
        hub_crypto_keyring_wipe(&ring);
    }
}

static void
test_keyfiles(void)
{
    struct hub_crypto_keyring ring, ring2;
    struct hub_error          err;
    struct stat               st;
    char                      path[512], id[HUB_CRYPTO_KEY_ID_MAX + 1], id2[HUB_CRYPTO_KEY_ID_MAX + 1];
    uint8_t                  *blob = NULL, *plain = NULL;
    size_t                    blen = 0, plen = 0;

    snprintf(path, sizeof(path), "%s/master.key", tmpdir);
    CHECK_EQ(0, hub_crypto_generate_keyfile(path, NULL, id, &err));
    CHECK(id[0] == 'k');
    CHECK_EQ(0, stat(path, &st));
    CHECK_EQ(0600, st.st_mode & 0777);
    /* never overwrites */
    CHECK_EQ(HUB_E_IO, hub_crypto_generate_keyfile(path, "other", NULL, &err));

    memset(&ring, 0, sizeof(ring));
    CHECK_EQ(0, hub_crypto_keyring_load_file(&ring, path, &err));
    CHECK_EQ(1, ring.nkeys);
    CHECK_STR_EQ(id, hub_crypto_keyring_active_id(&ring));
    REQUIRE(hub_crypto_seal(&ring, "before rotation", 15, &blob, &blen, &err) == 0);

    /* rotate: new active key first, the old one still opens old blobs */
    CHECK_EQ(0, hub_crypto_rotate_keyfile(path, "next", id2, &err));
    CHECK_STR_EQ("next", id2);
    CHECK_EQ(0, stat(path, &st));
    CHECK_EQ(0600, st.st_mode & 0777);
    memset(&ring2, 0, sizeof(ring2));
    CHECK_EQ(0, hub_crypto_keyring_load_file(&ring2, path, &err));
    CHECK_EQ(2, ring2.nkeys);
    CHECK_STR_EQ("next", hub_crypto_keyring_active_id(&ring2));
    CHECK_STR_EQ(id, ring2.keys[1].id);
    CHECK_EQ(0, hub_crypto_open(&ring2, blob, blen, &plain, &plen, &err));
    CHECK_STR_EQ("before rotation", (const char *)plain);
    hub_crypto_free_secret(plain, plen);
    CHECK_EQ(HUB_E_INVALID, hub_crypto_rotate_keyfile(path, "next", NULL, &err));
    hub_crypto_keyring_wipe(&ring2);

    /* a key file others can read is refused */
    CHECK_EQ(0, chmod(path, 0644));
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_load_file(&ring2, path, &err));
    CHECK_STR_HAS(err.msg, "chmod 600");
    hub_crypto_keyring_wipe(&ring2);
    CHECK_EQ(HUB_E_IO, hub_crypto_keyring_load_file(&ring2, "/nonexistent/master.key", &err));
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_load_file(&ring2, tmpdir, &err));
    hub_crypto_keyring_wipe(&ring2);
    CHECK_EQ(0, chmod(path, 0600));

    /* environment: SX_MASTER_KEY is active, the file's keys follow */
    setenv("SX_MASTER_KEY", "envkey:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
    setenv("SX_MASTER_KEY_FILE", path, 1);
    CHECK_EQ(0, hub_crypto_keyring_load(&ring2, NULL, &err));
    CHECK_EQ(3, ring2.nkeys);
    CHECK_STR_EQ("envkey", hub_crypto_keyring_active_id(&ring2));
    CHECK_EQ(0, hub_crypto_open(&ring2, blob, blen, &plain, &plen, &err));
    hub_crypto_free_secret(plain, plen);
    CHECK_EQ(HUB_E_INVALID, hub_crypto_keyring_load(&ring2, NULL, &err));    /* not empty */
    hub_crypto_keyring_wipe(&ring2);
    setenv("SX_MASTER_KEY", "envkey:short", 1);
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_load(&ring2, NULL, &err));
    CHECK_STR_HAS(err.msg, "SX_MASTER_KEY");
    CHECK_EQ(0, ring2.nkeys);
    unsetenv("SX_MASTER_KEY");
    unsetenv("SX_MASTER_KEY_FILE");
    CHECK_EQ(HUB_E_CONFIG, hub_crypto_keyring_load(&ring2, NULL, &err));
    CHECK_STR_HAS(err.msg, "no master key");

    free(blob);
    hub_crypto_keyring_wipe(&ring);
    unlink(path);
}

static void
test_hmac_sha256(void)
{
    uint8_t mac[32];
    char    b64[64], hex[65];
    /* RFC 4231 test case 2 */
    static const char rfc4231_2[] =
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    CHECK_EQ(0, hub_crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac));
    CHECK_EQ(0, hub_crypto_hex_encode(mac, 32, hex, sizeof(hex)));
    CHECK_STR_EQ(rfc4231_2, hex);

    /* vectors/shopify.json: shopify-webhook-hmac-1 (base64 of the MAC) */
    CHECK_EQ(0, hub_crypto_hmac_sha256("test_secret_key", 15, "{\"foo\": \"bar\"}", 14, mac));
    CHECK_EQ(0, hub_crypto_b64_encode(mac, 32, HUB_B64_STD, b64, sizeof(b64), NULL));
    CHECK_STR_EQ("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=", b64);

    /* shopify-oauth-callback-hmac-with-state (lowercase hex of the MAC) */
    {
        const char *q = "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
                        "&state=0.6784241404160823&timestamp=1337178173";
        uint8_t     expected[32];
        size_t      n = 0;

        CHECK_EQ(0, hub_crypto_hmac_sha256("hush", 4, q, strlen(q), mac));
        CHECK_EQ(0, hub_crypto_hex_encode(mac, 32, hex, sizeof(hex)));
        CHECK_STR_EQ("700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf", hex);
        /* verification the way a webhook receiver does it: decode, constant-time compare */
        CHECK_EQ(0, hub_crypto_hex_decode("700E2DADB827FCC8609E9D5CE208B2E9CDAAB9DF07390D2C"
                                          "BCA10D7C328FC4BF", 64, expected, sizeof(expected),
                                          &n, NULL));
        CHECK_EQ(1, hub_crypto_consttime_eq(expected, n, mac, 32));
        expected[31] ^= 1;
        CHECK_EQ(0, hub_crypto_consttime_eq(expected, n, mac, 32));
        CHECK_EQ(0, hub_crypto_consttime_eq(expected, 31, mac, 32));
    }
    CHECK_EQ(1, hub_crypto_consttime_eq("", 0, "", 0));
    CHECK_EQ(1, hub_crypto_consttime_eq(NULL, 0, NULL, 0));

    /* empty key and message are fine */
    CHECK_EQ(0, hub_crypto_hmac_sha256(NULL, 0, NULL, 0, mac));
    CHECK_EQ(0, hub_crypto_hex_encode(mac, 32, hex, sizeof(hex)));
    CHECK_STR_EQ("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", hex);
}

static void
test_sha256_random_wipe(void)
{
    char    hex[65];
    uint8_t a[32], b[32], zero[32];

    CHECK_EQ(0, hub_crypto_sha256_hex("abc", 3, hex));
    CHECK_STR_EQ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex);
    CHECK_EQ(0, hub_crypto_sha256_hex(NULL, 0, hex));
    CHECK_STR_EQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex);

    memset(zero, 0, sizeof(zero));
    CHECK_EQ(0, hub_crypto_random(a, sizeof(a)));
    CHECK_EQ(0, hub_crypto_random(b, sizeof(b)));
    CHECK(memcmp(a, b, 32) != 0);
    CHECK(memcmp(a, zero, 32) != 0);
    CHECK_EQ(0, hub_crypto_random(NULL, 0));
    hub_crypto_wipe(a, sizeof(a));
    CHECK_MEM_EQ(zero, 32, a, 32);
    hub_crypto_wipe(NULL, 10);
    hub_crypto_free_secret(NULL, 10);
}

static int
b64_dec(const char *in, int flags, char *out, size_t cap, size_t *n)
{
    struct hub_error err;

    return hub_crypto_b64_decode(in, strlen(in), flags, (uint8_t *)out, cap, n, &err);
}

static void
test_base64(void)
{
    /* RFC 4648 section 10 */
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy" };
    static const char *const enc_nopad[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
                                             "Zm9vYmFy" };
    char             out[64], dec[64];
    size_t           n = 0, i;
    struct hub_error err;

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        size_t pl = strlen(plain[i]);

        CHECK_EQ(strlen(enc[i]), hub_crypto_b64_encoded_len(pl, HUB_B64_STD));
        CHECK_EQ(0, hub_crypto_b64_encode(plain[i], pl, HUB_B64_STD, out, sizeof(out), &n));
        CHECK_STR_EQ(enc[i], out);
        CHECK_EQ(strlen(enc[i]), n);
        CHECK_EQ(0, hub_crypto_b64_encode(plain[i], pl, HUB_B64_URL | HUB_B64_NOPAD, out,
                                          sizeof(out), &n));
        CHECK_STR_EQ(enc_nopad[i], out);

        CHECK_EQ(0, b64_dec(enc[i], HUB_B64_STD, dec, sizeof(dec), &n));
        CHECK_MEM_EQ(plain[i], pl, dec, n);
        CHECK_EQ(0, b64_dec(enc_nopad[i], HUB_B64_URL | HUB_B64_NOPAD, dec, sizeof(dec), &n));
        CHECK_MEM_EQ(plain[i], pl, dec, n);
        CHECK_EQ(0, b64_dec(enc[i], HUB_B64_STD | HUB_B64_PAD_OPTIONAL, dec, sizeof(dec), &n));
        CHECK_MEM_EQ(plain[i], pl, dec, n);
        CHECK_EQ(0, b64_dec(enc_nopad[i], HUB_B64_STD | HUB_B64_PAD_OPTIONAL, dec, sizeof(dec),
                            &n));
        CHECK_MEM_EQ(plain[i], pl, dec, n);
        CHECK_GE(hub_crypto_b64_decoded_max(strlen(enc[i])), pl);
    }

    /* alphabets: 0xfb 0xff -> "+/8=" std, "-_8=" url */
    {
        const uint8_t bytes[] = { 0xfb, 0xff };

        CHECK_EQ(0, hub_crypto_b64_encode(bytes, 2, HUB_B64_STD, out, sizeof(out), NULL));
        CHECK_STR_EQ("+/8=", out);
        CHECK_EQ(0, hub_crypto_b64_encode(bytes, 2, HUB_B64_URL, out, sizeof(out), NULL));
        CHECK_STR_EQ("-_8=", out);
        CHECK_EQ(0, b64_dec("-_8=", HUB_B64_URL, dec, sizeof(dec), &n));
        CHECK_MEM_EQ(bytes, 2, dec, n);
        CHECK_EQ(HUB_E_INVALID, b64_dec("-_8=", HUB_B64_STD, dec, sizeof(dec), &n));
        CHECK_EQ(HUB_E_INVALID, b64_dec("+/8=", HUB_B64_URL, dec, sizeof(dec), &n));
    }

    /* strictness */
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zg", HUB_B64_STD, dec, sizeof(dec), &n));  /* needs pad */
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zg=", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zg===", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zg==", HUB_B64_NOPAD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm9v====", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm8==", HUB_B64_PAD_OPTIONAL, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Z===", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Z", HUB_B64_NOPAD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm9vY", HUB_B64_NOPAD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zg==Zg==", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm 9v", HUB_B64_PAD_OPTIONAL, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm9v\n", HUB_B64_PAD_OPTIONAL, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm9*", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, hub_crypto_b64_decode("Zm9*", 4, HUB_B64_STD, (uint8_t *)dec,
                                                  sizeof(dec), &n, &err));
    CHECK_STR_HAS(err.msg, "offset 3");
    /* non-canonical trailing bits: "Zh==" also "decodes" to 'f' in lax decoders */
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zh==", HUB_B64_STD, dec, sizeof(dec), &n));
    CHECK_EQ(HUB_E_INVALID, b64_dec("Zm9=", HUB_B64_STD, dec, sizeof(dec), &n));
    /* embedded NUL */
    CHECK_EQ(HUB_E_INVALID, hub_crypto_b64_decode("Zm\0v", 4, HUB_B64_STD, (uint8_t *)dec,
                                                  sizeof(dec), &n, &err));
    /* output too small: refused, not truncated */
    CHECK_EQ(HUB_E_LIMIT, b64_dec("Zm9vYmFy", HUB_B64_STD, dec, 5, &n));
    CHECK_EQ(0, b64_dec("Zm9vYmFy", HUB_B64_STD, dec, 6, &n));
    CHECK_EQ(HUB_E_LIMIT, hub_crypto_b64_encode("foobar", 6, HUB_B64_STD, out, 8, &n));
    CHECK_EQ(0, out[0]);
    CHECK_EQ(0, hub_crypto_b64_encode("foobar", 6, HUB_B64_STD, out, 9, &n));
    CHECK_EQ(HUB_E_LIMIT, hub_crypto_b64_encode("", 0, HUB_B64_STD, out, 0, &n));
    CHECK_EQ(SIZE_MAX, hub_crypto_b64_encoded_len(SIZE_MAX, HUB_B64_STD));

    /* all byte values round trip in both flavours */
    {
        uint8_t all[256], back[256];
        char    e[400];

        for (i = 0; i < 256; i++)
            all[i] = (uint8_t)i;
        for (i = 0; i <= 256; i += 1) {
            int flags[] = { HUB_B64_STD, HUB_B64_URL, HUB_B64_URL | HUB_B64_NOPAD };
            int f;

            for (f = 0; f < 3; f++) {
                size_t el = 0;

                if (hub_crypto_b64_encode(all + (256 - i), i, flags[f], e, sizeof(e), &el) != 0 ||
                    hub_crypto_b64_decode(e, el, flags[f], back, sizeof(back), &n, NULL) != 0 ||
                    n != i || memcmp(back, all + (256 - i), i) != 0)
                    CHECK_FAIL_AT(__FILE__, __LINE__, "round trip of %zu bytes, flags %d", i,
                                  flags[f]);
                else
                    check_passed++;
            }
        }
    }
}

static void
test_hex(void)
{
    char             out[16];
    uint8_t          dec[8];
    size_t           n = 0;
    struct hub_error err;

    CHECK_EQ(0, hub_crypto_hex_encode("\x00\xff\x10", 3, out, sizeof(out)));
    CHECK_STR_EQ("00ff10", out);
    CHECK_EQ(0, hub_crypto_hex_encode("", 0, out, 1));
    CHECK_STR_EQ("", out);
    CHECK_EQ(HUB_E_LIMIT, hub_crypto_hex_encode("abc", 3, out, 6));    /* needs 7 */
    CHECK_EQ(0, hub_crypto_hex_encode("abc", 3, out, 7));
    CHECK_EQ(HUB_E_LIMIT, hub_crypto_hex_encode("", 0, out, 0));

    CHECK_EQ(0, hub_crypto_hex_decode("00fF10", 6, dec, sizeof(dec), &n, &err));
    CHECK_EQ(3, n);
    CHECK_MEM_EQ("\x00\xff\x10", 3, dec, n);
    CHECK_EQ(0, hub_crypto_hex_decode("", 0, dec, 0, &n, &err));
    CHECK_EQ(0, n);
    CHECK_EQ(HUB_E_INVALID, hub_crypto_hex_decode("abc", 3, dec, sizeof(dec), &n, &err));
    CHECK_STR_HAS(err.msg, "odd length");
    CHECK_EQ(HUB_E_INVALID, hub_crypto_hex_decode("0g", 2, dec, sizeof(dec), &n, &err));
    CHECK_STR_HAS(err.msg, "offset 1");
    CHECK_EQ(HUB_E_INVALID, hub_crypto_hex_decode("0x10", 4, dec, sizeof(dec), &n, &err));
    CHECK_EQ(HUB_E_INVALID, hub_crypto_hex_decode(" 1", 2, dec, sizeof(dec), &n, &err));
    CHECK_EQ(HUB_E_LIMIT, hub_crypto_hex_decode("001122", 6, dec, 2, &n, &err));
}

int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/sx_test_crypto_%ld",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", (long)getpid());
    REQUIRE(mkdir(tmpdir, 0700) == 0);

    RUN_TEST(test_seal_round_trip);
    RUN_TEST(test_tamper_each_byte);
    RUN_TEST(test_associated_data);
    RUN_TEST(test_key_ids_and_rotation);
    RUN_TEST(test_keyring_parse);
    RUN_TEST(test_keyfiles);
    RUN_TEST(test_hmac_sha256);
    RUN_TEST(test_sha256_random_wipe);
    RUN_TEST(test_base64);
    RUN_TEST(test_hex);

    rmdir(tmpdir);
    return check_report();
}
