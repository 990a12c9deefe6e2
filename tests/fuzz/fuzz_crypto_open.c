/*
 * libFuzzer target for the crypto parsers of outside (or at-rest, possibly corrupted) input:
 * hub_crypto_open / hub_crypto_open_ad on arbitrary blobs, strict base64 and hex decoding,
 * and key-file parsing.
 *
 * The first input byte picks the parser, the rest is its input:
 *   0  hub_crypto_open under a fixed two-key ring ("k1" active, "old")
 *   1  hub_crypto_open_ad, associated data "integrations.credentials:1"
 *   2  base64 decode, flags from the second byte (& 7)
 *   3  hex decode
 *   4  hub_crypto_keyring_parse
 * Properties checked (abort on violation): no crash or sanitizer report; a decode that
 * succeeds re-encodes to exactly its input (strict decoding = one encoding per value);
 * nothing opens unless it really was sealed (impossible to hit by chance: a hit means the tag
 * check is broken) except the seeds; outputs are NUL-terminated and freed.
 *
 * Build (wired by tests/fuzz/CMakeLists.txt with -DSX_FUZZ=ON and clang):
 *   clang -fsanitize=fuzzer,address,undefined -Ihost tests/fuzz/fuzz_crypto_open.c \
 *         host/crypto/crypto.c host/core/error.c -lcrypto
 * Seeds: tests/fuzz/corpus/fuzz_crypto_open/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

static struct hub_crypto_keyring ring;
static int                       ring_ready;

static void
ring_init(void)
{
    uint8_t key[HUB_CRYPTO_KEY_LEN];

    if (ring_ready)
        return;
    memset(&ring, 0, sizeof(ring));
    memset(key, 0x4b, sizeof(key));
    if (hub_crypto_keyring_add(&ring, "old", key, 0, NULL) != 0)
        abort();
    memset(key, 0x31, sizeof(key));
    if (hub_crypto_keyring_add(&ring, "k1", key, 1, NULL) != 0)
        abort();
    ring_ready = 1;
}

static void
fuzz_open(const uint8_t *data, size_t size, int with_ad)
{
    static const char ad[] = "integrations.credentials:1";
    struct hub_error  err;
    uint8_t          *plain = NULL;
    size_t            len = 0;
    int               rc;
    char              id[HUB_CRYPTO_KEY_ID_MAX + 1];

    if (with_ad)
        rc = hub_crypto_open_ad(&ring, ad, sizeof(ad) - 1, data, size, &plain, &len, &err);
    else
        rc = hub_crypto_open(&ring, data, size, &plain, &len, &err);
    if (rc == 0) {
        if (plain == NULL || plain[len] != '\0')
            abort();
        hub_crypto_free_secret(plain, len);
    } else if (plain != NULL || len != 0 || rc != HUB_E_CRYPTO || err.msg[0] == '\0') {
        abort();
    }
    if (hub_crypto_blob_key_id(data, size, id) == 0 && strlen(id) > HUB_CRYPTO_KEY_ID_MAX)
        abort();
    (void)hub_crypto_needs_reseal(&ring, data, size);
}

static void
fuzz_b64(const uint8_t *data, size_t size)
{
    struct hub_error err;
    uint8_t         *out;
    char            *again;
    size_t           n = 0, cap, elen = 0;
    int              flags;

    if (size < 1)
        return;
    flags = data[0] & 7;
    data++;
    size--;
    cap = hub_crypto_b64_decoded_max(size);
    out = malloc(cap + 1);
    if (out == NULL)
        return;
    if (hub_crypto_b64_decode((const char *)data, size, flags, out, cap, &n, &err) == 0) {
        int enc_flags = flags & HUB_B64_URL;

        if (n > cap)
            abort();
        /* Re-encode in the form the input had: padded when it ends in '=', else unpadded
         * (which is the same thing when the length is a multiple of 4). */
        if (size == 0 || data[size - 1] != '=')
            enc_flags |= HUB_B64_NOPAD;
        again = malloc(size + 1);
        if (again == NULL)
            abort();
        if (hub_crypto_b64_encode(out, n, enc_flags, again, size + 1, &elen) != 0 ||
            elen != size || memcmp(again, data, size) != 0)
            abort();
        free(again);
    }
    free(out);
}

static void
fuzz_hex(const uint8_t *data, size_t size)
{
    struct hub_error err;
    uint8_t         *out;
    size_t           n = 0;

    out = malloc(size / 2 + 1);
    if (out == NULL)
        return;
    if (hub_crypto_hex_decode((const char *)data, size, out, size / 2, &n, &err) == 0 &&
        n * 2 != size)
        abort();
    free(out);
}

static void
fuzz_keyring(const uint8_t *data, size_t size)
{
    struct hub_crypto_keyring r;
    struct hub_error          err;

    memset(&r, 0, sizeof(r));
    if (hub_crypto_keyring_parse(&r, (const char *)data, size, "fuzz", &err) == 0 &&
        (r.nkeys == 0 || r.nkeys > HUB_CRYPTO_MAX_KEYS))
        abort();
    hub_crypto_keyring_wipe(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ring_init();
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        fuzz_open(data + 1, size - 1, 0);
        break;
    case 1:
        fuzz_open(data + 1, size - 1, 1);
        break;
    case 2:
        fuzz_b64(data + 1, size - 1);
        break;
    case 3:
        fuzz_hex(data + 1, size - 1);
        break;
    default:
        fuzz_keyring(data + 1, size - 1);
        break;
    }
    return 0;
}
