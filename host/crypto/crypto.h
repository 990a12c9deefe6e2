/*
 * Crypto: secrets at rest (AES-256-GCM under a master keyring with key ids for rotation) and
 * the small primitives the webhook, OAuth and plugin host services need (HMAC-SHA256,
 * SHA-256, constant-time compare, base64, hex, random bytes, secure zeroing). OpenSSL EVP.
 *
 * The master keys come from the environment or a file, never from the database.
 *
 * Key file format (text, mode 0600 or stricter, at most HUB_CRYPTO_MAX_KEYS keys):
 *
 *     # comment lines and blank lines are ignored
 *     k2025b:9b3Yq0P5...base64 of 32 bytes...=
 *     k2024a:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
 *
 * One `keyid:key` per line. The key is 32 bytes written as base64 (standard or url-safe,
 * padding optional) or as 64 hex digits. A key id is 1..32 characters of [A-Za-z0-9._-].
 * The FIRST key is the active one: new secrets are sealed with it; the others only open
 * secrets sealed before a rotation. SX_MASTER_KEY=keyid:key in the environment holds one key
 * in the same notation; when set it is the active key and the file's keys follow it.
 *
 * Sealed blob format (version 1), self-describing so the right key is found after rotation:
 *
 *     +---------+--------+----------------+-------------+------------+---------+
 *     | 0x01    | id_len | key id         | nonce       | ciphertext | tag     |
 *     | 1 byte  | 1 byte | id_len bytes   | 12 bytes    | n bytes    | 16 bytes|
 *     +---------+--------+----------------+-------------+------------+---------+
 *
 * The header (version, id_len, key id) and the caller's associated data, if any, are
 * authenticated as GCM AAD, so any change to any byte is refused with HUB_E_CRYPTO. Nonces are
 * random (96 bits); rotate the key well before 2^32 seals under one key.
 *
 * Thread rules: a keyring is filled once at start-up and read-only afterwards; seal and open
 * may then be called from any thread at once. Every function here is thread-safe.
 */
#ifndef HUB_CRYPTO_CRYPTO_H
#define HUB_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define HUB_CRYPTO_KEY_LEN        32
#define HUB_CRYPTO_KEY_ID_MAX     32
#define HUB_CRYPTO_MAX_KEYS       16
#define HUB_CRYPTO_NONCE_LEN      12
#define HUB_CRYPTO_TAG_LEN        16
#define HUB_CRYPTO_BLOB_VERSION   1
/* Largest secret we seal or open; credentials and tokens are far smaller. */
#define HUB_CRYPTO_MAX_PLAINTEXT  (1024 * 1024)
/* Largest associated data accepted by the *_ad variants. */
#define HUB_CRYPTO_MAX_AD         (64 * 1024)
/* Largest key file read. */
#define HUB_CRYPTO_KEYFILE_MAX    (64 * 1024)
/* Blob size for a plaintext of `n` bytes under a key id of `id_len` characters. */
#define HUB_CRYPTO_SEALED_LEN(n, id_len) \
    ((size_t)2 + (id_len) + HUB_CRYPTO_NONCE_LEN + (n) + HUB_CRYPTO_TAG_LEN)

struct hub_crypto_key {
    char    id[HUB_CRYPTO_KEY_ID_MAX + 1];
    uint8_t key[HUB_CRYPTO_KEY_LEN];
};

/* keys[0] is the active key. Wipe with hub_crypto_keyring_wipe() when done. */
struct hub_crypto_keyring {
    struct hub_crypto_key keys[HUB_CRYPTO_MAX_KEYS];
    size_t                nkeys;
};

/* ---- keyring ---------------------------------------------------------------------------- */

/* Empty the keyring and zero every key. Safe on an empty or zeroed ring. */
void hub_crypto_keyring_wipe(struct hub_crypto_keyring *ring);

/*
 * Add one key. With `make_active` it becomes keys[0] (the rest move down), else it is appended.
 * Adding an id already present with the same key is a no-op; with a different key it is
 * HUB_E_CONFIG. HUB_E_INVALID for a bad id, HUB_E_LIMIT when the ring is full.
 */
int hub_crypto_keyring_add(struct hub_crypto_keyring *ring, const char *id,
                           const uint8_t key[HUB_CRYPTO_KEY_LEN], int make_active,
                           struct hub_error *err);

/*
 * Parse key-file text (format above) of `len` bytes and append its keys to `ring` in order
 * (so on an empty ring the text's first key is active). `origin` names the source in messages
 * ("/etc/simplix/master.key", "SX_MASTER_KEY"). Messages name the line, never key material.
 * 0, or HUB_E_CONFIG / HUB_E_LIMIT with `err` set (the ring may then hold some keys: wipe it).
 */
int hub_crypto_keyring_parse(struct hub_crypto_keyring *ring, const char *text, size_t len,
                             const char *origin, struct hub_error *err);

/*
 * Read and parse a key file. Refuses (HUB_E_CONFIG) a file that is not a regular file, is
 * larger than HUB_CRYPTO_KEYFILE_MAX, is readable or writable by group or others, or holds no
 * key. HUB_E_IO when it cannot be read.
 */
int hub_crypto_keyring_load_file(struct hub_crypto_keyring *ring, const char *path,
                                 struct hub_error *err);

/*
 * Fill an EMPTY ring the way the daemon does: SX_MASTER_KEY (if set) first, as the active
 * key; then the key file `path`, or when `path` is NULL the file named by SX_MASTER_KEY_FILE
 * (if set). HUB_E_CONFIG when neither gives a key.
 */
int hub_crypto_keyring_load(struct hub_crypto_keyring *ring, const char *path,
                            struct hub_error *err);

/* Id of the active key, or NULL for an empty ring. Points into `ring`. */
const char *hub_crypto_keyring_active_id(const struct hub_crypto_keyring *ring);

/*
 * Create a new key file at `path` (must not exist; created with mode 0600) holding one fresh
 * random key named `key_id` (NULL: "k" + the UTC time, "k20250301T120000"). Writes the id
 * used to `out_id` if not NULL. HUB_E_IO (exists, cannot write), HUB_E_INVALID (bad id).
 */
int hub_crypto_generate_keyfile(const char *path, const char *key_id,
                                char out_id[HUB_CRYPTO_KEY_ID_MAX + 1], struct hub_error *err);

/*
 * Rotation: rewrite the key file at `path` with a fresh key `new_id` (NULL: as above) first,
 * followed by every key it held. Atomic (temporary file + rename), mode 0600. Secrets sealed
 * before stay readable; re-seal them at leisure (see hub_crypto_needs_reseal).
 */
int hub_crypto_rotate_keyfile(const char *path, const char *new_id,
                              char out_id[HUB_CRYPTO_KEY_ID_MAX + 1], struct hub_error *err);

/* ---- sealing ---------------------------------------------------------------------------- */

/*
 * Encrypt `len` bytes (at most HUB_CRYPTO_MAX_PLAINTEXT; `plaintext` may be NULL when len is 0)
 * under the active key. On success *out_blob is malloc'ed (caller frees with free(); the blob
 * is not secret) and *out_len is its size. HUB_E_CONFIG (empty ring), HUB_E_LIMIT,
 * HUB_E_NOMEM, HUB_E_CRYPTO.
 */
int hub_crypto_seal(const struct hub_crypto_keyring *ring, const void *plaintext, size_t len,
                    uint8_t **out_blob, size_t *out_len, struct hub_error *err);

/*
 * Decrypt a blob from hub_crypto_seal with the key its id names. On success *out_plain is
 * malloc'ed with one extra NUL byte after the *out_len bytes (handy for tokens); it is a
 * secret: release it with hub_crypto_free_secret(p, *out_len). Any malformed, truncated or
 * tampered blob, an unknown version, or a key id not in the ring: HUB_E_CRYPTO, nothing
 * allocated.
 */
int hub_crypto_open(const struct hub_crypto_keyring *ring, const uint8_t *blob, size_t len,
                    uint8_t **out_plain, size_t *out_len, struct hub_error *err);

/*
 * As above, binding the blob to associated data (`ad`, `ad_len` <= HUB_CRYPTO_MAX_AD), e.g.
 * "integrations.credentials:42", so a blob copied to another row or column does not open.
 * The same `ad` must be given to open.
 */
int hub_crypto_seal_ad(const struct hub_crypto_keyring *ring, const void *ad, size_t ad_len,
                       const void *plaintext, size_t len, uint8_t **out_blob, size_t *out_len,
                       struct hub_error *err);
int hub_crypto_open_ad(const struct hub_crypto_keyring *ring, const void *ad, size_t ad_len,
                       const uint8_t *blob, size_t len, uint8_t **out_plain, size_t *out_len,
                       struct hub_error *err);

/* Copy the key id a blob names into `out` (NUL-terminated). 0 or HUB_E_CRYPTO (malformed). */
int hub_crypto_blob_key_id(const uint8_t *blob, size_t len,
                           char out[HUB_CRYPTO_KEY_ID_MAX + 1]);

/* 1 when the blob is sealed under a key other than the active one, 0 when not,
 * HUB_E_CRYPTO when malformed. */
int hub_crypto_needs_reseal(const struct hub_crypto_keyring *ring, const uint8_t *blob,
                            size_t len);

/* Zero `len` bytes at `p` (not optimised away) and free(p). NULL is fine. */
void hub_crypto_free_secret(void *p, size_t len);

/* ---- primitives ------------------------------------------------------------------------- */

/* Zero memory holding a secret; the compiler cannot drop it. */
void hub_crypto_wipe(void *p, size_t len);

/* `len` cryptographically random bytes. 0 or HUB_E_CRYPTO. */
int hub_crypto_random(void *out, size_t len);

/* 1 when the two byte strings are equal, else 0. Time depends on the lengths only (lengths
 * are not secret: a MAC or digest has a fixed one). */
int hub_crypto_consttime_eq(const void *a, size_t a_len, const void *b, size_t b_len);

/* SHA-256 of `len` bytes. 0 or HUB_E_CRYPTO. */
int hub_crypto_sha256(const void *data, size_t len, uint8_t out[32]);
/* SHA-256 as 64 lowercase hex digits plus NUL. 0 or HUB_E_CRYPTO. */
int hub_crypto_sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA256(key, msg). 0 or HUB_E_CRYPTO. */
int hub_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                           uint8_t out[32]);

/* Base64 flavours (RFC 4648): alphabet and padding rules, OR'ed together. */
enum {
    HUB_B64_STD          = 0,       /* "+/" alphabet, '=' padding written and required */
    HUB_B64_URL          = 1 << 0,  /* "-_" alphabet (section 5) */
    HUB_B64_NOPAD        = 1 << 1,  /* encode: no padding; decode: padding refused */
    HUB_B64_PAD_OPTIONAL = 1 << 2   /* decode: correct padding or none */
};

/* Length of the encoding of `len` bytes, without the NUL; SIZE_MAX if it would overflow. */
size_t hub_crypto_b64_encoded_len(size_t len, int flags);
/* Upper bound of the decoded size of `len` characters. */
size_t hub_crypto_b64_decoded_max(size_t len);

/*
 * Encode into `out` (`cap` bytes; needs encoded_len + 1 for the NUL). *out_len (may be NULL)
 * gets the length without the NUL. 0 or HUB_E_LIMIT (nothing useful written).
 */
int hub_crypto_b64_encode(const void *data, size_t len, int flags, char *out, size_t cap,
                          size_t *out_len);

/*
 * Strict decode of `len` characters: only the flavour's alphabet, no whitespace, padding as
 * the flags say, a length that a real encoding can have, and zero unused trailing bits
 * (so each value has exactly one accepted encoding). 0, HUB_E_INVALID with the position of
 * the problem in `err`, or HUB_E_LIMIT when `cap` is too small.
 */
int hub_crypto_b64_decode(const char *in, size_t len, int flags, uint8_t *out, size_t cap,
                          size_t *out_len, struct hub_error *err);

/* Lowercase hex of `len` bytes into `out` (cap >= 2 * len + 1, NUL-terminated).
 * 0 or HUB_E_LIMIT. */
int hub_crypto_hex_encode(const void *data, size_t len, char *out, size_t cap);
/* Decode hex (either case, even length, nothing else). 0, HUB_E_INVALID or HUB_E_LIMIT. */
int hub_crypto_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                          size_t *out_len, struct hub_error *err);

#endif
