/*
 * Fuzz target: master key files and sealed blobs (host/crypto/crypto.c).
 *
 * Every input goes through all of:
 *   1. hub_crypto_keyring_parse on the input as key-file text. Checked: the result is 0,
 *      HUB_E_CONFIG or HUB_E_LIMIT; 0 means at least one key; every key id is valid, unique
 *      and NUL-terminated; no message contains a parsed key in hex or base64.
 *   2. With any key obtained: seal / open round trips (with and without associated data,
 *      under the active key and under the last key), blob length and key id as documented,
 *      and a blob with one bit flipped, or opened with other associated data, is refused.
 *   3. hub_crypto_open, hub_crypto_blob_key_id and hub_crypto_needs_reseal on the raw input
 *      as a blob, under a fixed keyring (ids "k1", "k2024a") plus the parsed keys. The seed
 *      corpus holds blobs sealed under the fixed keys so the fuzzer starts past the key
 *      lookup (tests/fuzz/corpus/keyring/blob-*).
 *   4. The base64 and hex decoders on the raw input, every flavour: strict decoding accepts
 *      exactly one encoding per value, so whatever decodes must re-encode to the input
 *      itself; and encoding the input then decoding gives it back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "crypto/crypto.h"

#include "fuzz_check.h"

/* Plaintexts sealed per input; the crypto is linear, this only keeps executions fast. */
#define FUZZ_PLAIN_MAX 4096
#define FUZZ_BLOB_FIXED (2 + HUB_CRYPTO_NONCE_LEN + HUB_CRYPTO_TAG_LEN)

static const char fuzz_ad[] = "integrations.credentials:42";

static int
id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static void
check_ring(const struct hub_crypto_keyring *ring)
{
    size_t i, j, len;

    FUZZ_CHECK(ring->nkeys <= HUB_CRYPTO_MAX_KEYS);
    for (i = 0; i < ring->nkeys; i++) {
        const char *id = ring->keys[i].id;

        FUZZ_CHECK(memchr(id, '\0', sizeof(ring->keys[i].id)) != NULL);
        len = strlen(id);
        FUZZ_CHECK(len >= 1 && len <= HUB_CRYPTO_KEY_ID_MAX);
        for (j = 0; j < len; j++)
            FUZZ_CHECK(id_char_ok(id[j]));
        for (j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(ring->keys[j].id, id) != 0);
    }
}

/* No message may carry key material (crypto.h: "Messages name the line, never key
 * material"). */
static void
check_no_key_in(const struct hub_crypto_keyring *ring, const char *msg)
{
    char   enc[2 * HUB_CRYPTO_KEY_LEN + 1];
    size_t i;

    for (i = 0; i < ring->nkeys; i++) {
        const uint8_t *k = ring->keys[i].key;

        FUZZ_CHECK(hub_crypto_hex_encode(k, HUB_CRYPTO_KEY_LEN, enc, sizeof(enc)) == 0);
        FUZZ_CHECK(strstr(msg, enc) == NULL);
        FUZZ_CHECK(hub_crypto_b64_encode(k, HUB_CRYPTO_KEY_LEN, HUB_B64_NOPAD, enc, sizeof(enc),
                                         NULL) == 0);
        FUZZ_CHECK(strstr(msg, enc) == NULL);
        FUZZ_CHECK(hub_crypto_b64_encode(k, HUB_CRYPTO_KEY_LEN, HUB_B64_URL | HUB_B64_NOPAD, enc,
                                         sizeof(enc), NULL) == 0);
        FUZZ_CHECK(strstr(msg, enc) == NULL);
    }
}

/* Seal `plain` under ring's active key and check everything the header promises. */
static void
round_trip(const struct hub_crypto_keyring *ring, const uint8_t *plain, size_t len,
           size_t flip)
{
    struct hub_error err;
    uint8_t         *blob = NULL, *out = NULL;
    size_t           blob_len = 0, out_len = 0;
    size_t           id_len = strlen(ring->keys[0].id);
    char             id[HUB_CRYPTO_KEY_ID_MAX + 1];

    FUZZ_CHECK(hub_crypto_seal(ring, plain, len, &blob, &blob_len, &err) == 0);
    FUZZ_CHECK(blob != NULL);
    FUZZ_CHECK(blob_len == HUB_CRYPTO_SEALED_LEN(len, id_len));
    FUZZ_CHECK(blob[0] == HUB_CRYPTO_BLOB_VERSION && blob[1] == id_len);
    FUZZ_CHECK(hub_crypto_blob_key_id(blob, blob_len, id) == 0);
    FUZZ_CHECK(strcmp(id, ring->keys[0].id) == 0);
    FUZZ_CHECK(hub_crypto_needs_reseal(ring, blob, blob_len) == 0);

    FUZZ_CHECK(hub_crypto_open(ring, blob, blob_len, &out, &out_len, &err) == 0);
    FUZZ_CHECK(out != NULL && out_len == len && out[len] == '\0');
    FUZZ_CHECK(len == 0 || memcmp(out, plain, len) == 0);
    hub_crypto_free_secret(out, out_len);

    /* Bound to associated data: opens only with the same data. */
    FUZZ_CHECK(hub_crypto_open_ad(ring, fuzz_ad, sizeof(fuzz_ad) - 1, blob, blob_len, &out,
                                  &out_len, &err) == HUB_E_CRYPTO);
    FUZZ_CHECK(out == NULL && out_len == 0);

    /* Any change to any byte is refused. */
    blob[flip % blob_len] ^= (uint8_t)(1u << (flip / blob_len % 8));
    FUZZ_CHECK(hub_crypto_open(ring, blob, blob_len, &out, &out_len, &err) == HUB_E_CRYPTO);
    FUZZ_CHECK(out == NULL && out_len == 0);
    free(blob);

    FUZZ_CHECK(hub_crypto_seal_ad(ring, fuzz_ad, sizeof(fuzz_ad) - 1, plain, len, &blob,
                                  &blob_len, &err) == 0);
    FUZZ_CHECK(hub_crypto_open_ad(ring, fuzz_ad, sizeof(fuzz_ad) - 1, blob, blob_len, &out,
                                  &out_len, &err) == 0);
    FUZZ_CHECK(out_len == len && (len == 0 || memcmp(out, plain, len) == 0));
    hub_crypto_free_secret(out, out_len);
    FUZZ_CHECK(hub_crypto_open(ring, blob, blob_len, &out, &out_len, &err) == HUB_E_CRYPTO);
    free(blob);
}

static void
keys_from_text(const uint8_t *data, size_t size, struct hub_crypto_keyring *ring)
{
    struct hub_error err;
    int              rc;

    hub_error_clear(&err);
    rc = hub_crypto_keyring_parse(ring, (const char *)data, size, "fuzz.key", &err);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_CONFIG || rc == HUB_E_LIMIT);
    check_ring(ring);
    if (rc == 0) {
        FUZZ_CHECK(ring->nkeys > 0);
        FUZZ_CHECK(hub_crypto_keyring_active_id(ring) == ring->keys[0].id);
    } else {
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        check_no_key_in(ring, err.msg);
    }
}

static void
seal_with_parsed(const struct hub_crypto_keyring *ring, const uint8_t *data, size_t size)
{
    struct hub_crypto_keyring last;
    struct hub_error          err;
    uint8_t                  *blob, *out;
    size_t                    blob_len, out_len, n = size < FUZZ_PLAIN_MAX ? size : FUZZ_PLAIN_MAX;

    if (ring->nkeys == 0)
        return;
    round_trip(ring, data, n, size * 31 + 7);

    /* A blob sealed under an older key still opens, and asks for a re-seal. */
    memset(&last, 0, sizeof(last));
    FUZZ_CHECK(hub_crypto_keyring_add(&last, ring->keys[ring->nkeys - 1].id,
                                      ring->keys[ring->nkeys - 1].key, 1, &err) == 0);
    FUZZ_CHECK(hub_crypto_seal(&last, data, n, &blob, &blob_len, &err) == 0);
    FUZZ_CHECK(hub_crypto_open(ring, blob, blob_len, &out, &out_len, &err) == 0);
    FUZZ_CHECK(out_len == n && (n == 0 || memcmp(out, data, n) == 0));
    hub_crypto_free_secret(out, out_len);
    FUZZ_CHECK(hub_crypto_needs_reseal(ring, blob, blob_len) == (ring->nkeys > 1));
    free(blob);
    hub_crypto_keyring_wipe(&last);
}

static void
open_raw(const struct hub_crypto_keyring *parsed, const uint8_t *data, size_t size)
{
    static const uint8_t      key_k2024a[HUB_CRYPTO_KEY_LEN] = {
        0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
        0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
        0x42, 0x42, 0x42, 0x42
    };
    struct hub_crypto_keyring ring;
    struct hub_error          err;
    uint8_t                   key_k1[HUB_CRYPTO_KEY_LEN], *out = NULL;
    size_t                    i, out_len = 0;
    char                      id[HUB_CRYPTO_KEY_ID_MAX + 1];
    int                       rc, rc_id, rc_re;

    for (i = 0; i < sizeof(key_k1); i++)
        key_k1[i] = (uint8_t)i;
    memset(&ring, 0, sizeof(ring));
    FUZZ_CHECK(hub_crypto_keyring_add(&ring, "k1", key_k1, 0, &err) == 0);
    FUZZ_CHECK(hub_crypto_keyring_add(&ring, "k2024a", key_k2024a, 0, &err) == 0);
    for (i = 0; i < parsed->nkeys; i++) {
        /* Same id with another key, or a full ring: refused, the ring is unchanged. */
        rc = hub_crypto_keyring_add(&ring, parsed->keys[i].id, parsed->keys[i].key, 0, &err);
        FUZZ_CHECK(rc == 0 || rc == HUB_E_CONFIG || rc == HUB_E_LIMIT);
    }
    check_ring(&ring);

    rc = hub_crypto_open(&ring, data, size, &out, &out_len, &err);
    rc_id = hub_crypto_blob_key_id(data, size, id);
    rc_re = hub_crypto_needs_reseal(&ring, data, size);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_CRYPTO);
    FUZZ_CHECK(rc_id == 0 || rc_id == HUB_E_CRYPTO);
    FUZZ_CHECK((rc_id == 0) == (rc_re == 0 || rc_re == 1));
    if (rc_id == 0)
        FUZZ_CHECK(strlen(id) == data[1]);
    if (rc == 0) {
        /* Only a well-formed blob under a loaded key opens. */
        FUZZ_CHECK(rc_id == 0);
        FUZZ_CHECK(out != NULL && out_len == size - FUZZ_BLOB_FIXED - data[1]);
        FUZZ_CHECK(out[out_len] == '\0');
        round_trip(&ring, out, out_len, size);
        hub_crypto_free_secret(out, out_len);
    } else {
        FUZZ_CHECK(out == NULL && out_len == 0);
        FUZZ_CHECK(err.code == HUB_E_CRYPTO);
    }
    hub_crypto_keyring_wipe(&ring);
}

/* Decode `data` as base64 of the given flavour; whatever decodes must re-encode to `data`. */
static void
b64_canonical(const uint8_t *data, size_t size, int flags)
{
    struct hub_error err;
    size_t           max = hub_crypto_b64_decoded_max(size), n = 0, n2 = 0, enc_len = 0;
    uint8_t         *out = malloc(max ? max : 1);
    uint8_t         *exact;
    char            *enc;
    int              padded, rc;

    FUZZ_CHECK(out != NULL);
    rc = hub_crypto_b64_decode((const char *)data, size, flags, out, max, &n, &err);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_INVALID);
    if (rc != 0) {
        FUZZ_CHECK(n == 0 && err.code == rc);
        free(out);
        return;
    }
    FUZZ_CHECK(n <= max);
    /* The exact size is enough. */
    exact = malloc(n ? n : 1);
    FUZZ_CHECK(exact != NULL);
    FUZZ_CHECK(hub_crypto_b64_decode((const char *)data, size, flags, exact, n, &n2, &err) == 0);
    FUZZ_CHECK(n2 == n && (n == 0 || memcmp(exact, out, n) == 0));
    free(exact);

    padded = size > 0 && data[size - 1] == '=';
    FUZZ_CHECK(!(padded && (flags & HUB_B64_NOPAD)));
    enc = malloc(size + 1);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(hub_crypto_b64_encode(out, n, (flags & HUB_B64_URL) | (padded ? 0 : HUB_B64_NOPAD),
                                     enc, size + 1, &enc_len) == 0);
    FUZZ_CHECK(enc_len == size && memcmp(enc, data, size) == 0);
    free(enc);
    free(out);
}

static void
b64_round_trip(const uint8_t *data, size_t size, int flags)
{
    struct hub_error err;
    size_t           elen = hub_crypto_b64_encoded_len(size, flags), n = 0, olen = 0;
    char            *enc = malloc(elen + 1);
    uint8_t         *dec = malloc(size ? size : 1);

    FUZZ_CHECK(enc != NULL && dec != NULL);
    /* One byte short of room for the NUL: refused. */
    FUZZ_CHECK(hub_crypto_b64_encode(data, size, flags, enc, elen, NULL) == HUB_E_LIMIT);
    FUZZ_CHECK(hub_crypto_b64_encode(data, size, flags, enc, elen + 1, &olen) == 0);
    FUZZ_CHECK(olen == elen && enc[elen] == '\0');
    FUZZ_CHECK(hub_crypto_b64_decode(enc, elen, flags, dec, size, &n, &err) == 0);
    FUZZ_CHECK(n == size && (size == 0 || memcmp(dec, data, size) == 0));
    free(enc);
    free(dec);
}

static void
hex_checks(const uint8_t *data, size_t size)
{
    struct hub_error err;
    uint8_t         *out = malloc(size / 2 ? size / 2 : 1);
    char            *enc = malloc(size + 1);
    size_t           n = 0, i;
    int              rc;

    FUZZ_CHECK(out != NULL && enc != NULL);
    rc = hub_crypto_hex_decode((const char *)data, size, out, size / 2, &n, &err);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_INVALID);
    if (rc == 0) {
        FUZZ_CHECK(n == size / 2 && size % 2 == 0);
        FUZZ_CHECK(hub_crypto_hex_encode(out, n, enc, size + 1) == 0);
        for (i = 0; i < size; i++) {
            char c = (char)data[i];

            if (c >= 'A' && c <= 'F')
                c = (char)(c - 'A' + 'a');
            FUZZ_CHECK(enc[i] == c);
        }
        FUZZ_CHECK(enc[size] == '\0');
    } else {
        FUZZ_CHECK(n == 0);
    }
    free(out);
    free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int flavours[] = {
        HUB_B64_STD, HUB_B64_URL, HUB_B64_NOPAD, HUB_B64_URL | HUB_B64_NOPAD,
        HUB_B64_PAD_OPTIONAL, HUB_B64_URL | HUB_B64_PAD_OPTIONAL
    };
    struct hub_crypto_keyring ring;
    size_t                    i, small = size < FUZZ_PLAIN_MAX ? size : FUZZ_PLAIN_MAX;

    memset(&ring, 0, sizeof(ring));
    keys_from_text(data, size, &ring);
    seal_with_parsed(&ring, data, size);
    open_raw(&ring, data, size);
    hub_crypto_keyring_wipe(&ring);

    for (i = 0; i < sizeof(flavours) / sizeof(flavours[0]); i++) {
        b64_canonical(data, size, flavours[i]);
        b64_round_trip(data, small, flavours[i]);
    }
    hex_checks(data, size);
    return 0;
}
