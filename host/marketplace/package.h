/*
 * Marketplace packages: the signed package format and its tooling (docs/MARKETPLACE.md
 * "Package format", "Keys and trust", "Building packages").
 *
 * A package is a folder <marketplace_dir>/packages/<id>/<version>/ holding manifest.json
 * (what the connector is, the SHA-256 and size of its .so), manifest.sig (an Ed25519
 * signature over the exact bytes of manifest.json, base64 on one line), the .so ("<id>.so")
 * and an optional icon. Signing the manifest covers the .so through its SHA-256 and the icon
 * through its icon_sha256. <marketplace_dir>/index.json lists the packages and their versions;
 * a trust file ({"keys":[{publisher, key_id, public_key}]}) lists the publisher keys a hub
 * accepts.
 *
 * Refusal codes: HUB_E_INVALID (manifest.json missing or malformed), HUB_E_SIGNATURE (not
 * signed, untrusted publisher key, signature that does not verify), HUB_E_REJECTED (a file
 * name that escapes the package or plugin folder, a .so or icon that does not match the
 * manifest, a manifest that disagrees with the connector's descriptor), HUB_E_PLUGIN_ABI (an
 * SDK ABI this hub cannot serve), plus the loader's HUB_E_PLUGIN / HUB_E_PLUGIN_ABI when
 * the .so itself is refused. Each comes with one sentence in `err`.
 *
 * Thread rules: every function is reentrant; a loaded struct hub_pkg_trust is read-only and
 * may be shared between threads. Nothing here logs.
 */
#ifndef HUB_MARKETPLACE_PACKAGE_H
#define HUB_MARKETPLACE_PACKAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

struct json_object;

#define HUB_PKG_MANIFEST_MAX (64 * 1024)
#define HUB_PKG_FORMAT       1
#define HUB_PKG_SO_MAX       (64 * 1024 * 1024)     /* largest .so packed or verified */
#define HUB_PKG_ICON_MAX     (256 * 1024)
#define HUB_PKG_DESC_MAX     2000
#define HUB_PKG_SUMMARY_MAX  200
#define HUB_PKG_TRUST_MAX    (256 * 1024)           /* largest trust file read */
#define HUB_PKG_TRUST_KEYS   256                    /* most keys in one trust file */
#define HUB_PKG_INDEX_MAX    (8 * 1024 * 1024)      /* largest index.json read */
#define HUB_PKG_MAX_CONFIG   64
#define HUB_PKG_MAX_ENTITY   8                      /* > SX_ENTITY__COUNT, indexed by SX_ENTITY_* */

struct hub_pkg_config_field {
    char    key[64];
    uint8_t kind;        /* SX_CFG_* */
    uint8_t required;
};

struct hub_pkg_manifest {
    char id[65], display_name[129], version[65], publisher[65], key_id[65];
    char sdk_abi[16], auth_kind[32], file[129], sha256[65], icon[129];
    int64_t size;
    char *json;            /* the exact manifest bytes (malloc'd, NUL-terminated) */
    size_t json_len;

    /* Also filled by the parser (additions to the interface): */
    char     icon_sha256[65];              /* "" when there is no icon */
    char     created_at[21];               /* "2025-03-01T12:00:00Z" */
    uint32_t abi_major, abi_minor;         /* sdk_abi as numbers */
    int      webhooks;                     /* 1 when the connector has webhook ops */
    uint32_t entity_dirs[HUB_PKG_MAX_ENTITY];   /* SX_DIR_* bits per SX_ENTITY_*, 0 = absent */
    size_t   n_config;
    struct hub_pkg_config_field config[HUB_PKG_MAX_CONFIG];
};

struct hub_pkg_trust;    /* opaque: trusted publisher keys */

/*
 * Load a trust file. *out is new (free with hub_pkg_trust_free). HUB_E_NOT_FOUND when the
 * file does not exist; HUB_E_CONFIG when it is malformed (a bad entry, a public key that is
 * not 32 bytes of base64, the same publisher and key id twice with different keys, more than
 * HUB_PKG_TRUST_KEYS keys, writable by others); HUB_E_IO.
 */
int  hub_pkg_trust_load(const char *path, struct hub_pkg_trust **out, struct hub_error *err);
void hub_pkg_trust_free(struct hub_pkg_trust *t);
/* Number of keys in `t` (0 for NULL). */
size_t hub_pkg_trust_count(const struct hub_pkg_trust *t);
/*
 * Add {publisher, key_id, public_key} to the trust file at `path`, creating it (mode 0644)
 * when absent; atomic (temporary file + rename). `public_key_b64` is the raw 32-byte Ed25519
 * public key in standard base64. Adding an entry already present with the same key is a
 * no-op; with another key it is HUB_E_CONFLICT.
 */
int  hub_pkg_trust_add(const char *path, const char *publisher, const char *key_id,
                       const char *public_key_b64, struct hub_error *err);

/* Free what a manifest holds (the json copy) and zero it. NULL and zeroed structs are fine. */
void hub_pkg_manifest_free(struct hub_pkg_manifest *m);
/*
 * Parse and check a manifest's text (no file access): fields, bounds, file-name rules.
 * `text` need not be NUL-terminated. On success *out holds a copy of the text (free with
 * hub_pkg_manifest_free); on failure *out is zeroed and nothing is allocated. Fuzzed.
 * An unsigned manifest (as `pack` writes it) has publisher and key_id both "".
 */
int  hub_pkg_manifest_parse(const char *text, size_t len, struct hub_pkg_manifest *out,
                            struct hub_error *err);
/*
 * Verify the package directory `dir` WITHOUT loading anything yet, in this order, each refusal
 * one sentence with HUB_E_SIGNATURE / HUB_E_REJECTED / HUB_E_PLUGIN_ABI / HUB_E_INVALID:
 *   manifest.json present and valid; manifest.sig present ("the package is not signed
 *   (no manifest.sig)"); the signature's key_id/publisher in `trust` ("publisher X key Y is
 *   not trusted by this hub"); the signature valid ("the package signature does not verify:
 *   the manifest was changed or signed by another key"); the file name rules; the .so's
 *   SHA-256 and size equal the manifest's ("the .so does not match the manifest's SHA-256");
 *   sdk_abi servable by this hub (major == SX_ABI_MAJOR, minor <= SX_ABI_MINOR: "the package
 *   was built for SDK ABI 2.0; this hub serves 1.0 to 1.1").
 * Then, when `check_descriptor` is 1: dlopen the .so with hub_plugin_load (host/plugin/loader.h)
 * and compare id, version, sdk_abi, auth_kind, entities/directions and webhooks (also the
 * display name and the config keys, kinds and required flags) with the manifest ("the
 * manifest says version 1.2.0 but the connector says 1.1.0"), then unload it.
 * Fills *out on success (free with hub_pkg_manifest_free). `trust` NULL trusts nobody.
 *
 * Files are opened relative to `dir` with O_NOFOLLOW: a symbolic link in place of a package
 * file is refused. The bytes verified are those on disk at the time: copy the .so out with
 * hub_pkg_copy_verified, which hashes the bytes it copies, rather than copying it blindly.
 */
int  hub_pkg_verify_dir(const char *dir, const struct hub_pkg_trust *trust, int check_descriptor,
                        struct hub_pkg_manifest *out, struct hub_error *err);
/*
 * Copy the .so of the package in `pkg_dir` described by `m` (from hub_pkg_verify_dir) to
 * `dest_path` (temporary file in the same folder, fsync, rename; mode 0644), checking that
 * the bytes copied have the manifest's size and SHA-256 ("the .so does not match the
 * manifest's SHA-256", HUB_E_REJECTED). On failure `dest_path` is untouched and no temporary
 * file is left.
 */
int  hub_pkg_copy_verified(const char *pkg_dir, const struct hub_pkg_manifest *m,
                           const char *dest_path, struct hub_error *err);
/* The directory of package id@version under marketplace_dir (version NULL = the highest
 * semver whose sdk_abi this hub serves), read from index.json. HUB_E_NOT_FOUND with a sentence. */
int  hub_pkg_find(const char *marketplace_dir, const char *id, const char *version,
                  char *dir_out, size_t cap, struct hub_error *err);
/* index.json of marketplace_dir as a json-c object (caller puts it), or HUB_E_NOT_FOUND. */
int  hub_pkg_index_load(const char *marketplace_dir, struct json_object **out,
                        struct hub_error *err);
/* semver compare: <0, 0, >0 (invalid versions sort first). */
int  hub_pkg_semver_cmp(const char *a, const char *b);
/* 1 when `v` is semver 2.0.0 (MAJOR.MINOR.PATCH[-pre][+build], no leading zeros, at most 64
 * characters), else 0. */
int  hub_pkg_semver_valid(const char *v);
/* 1 when `id` is a connector id ([a-z0-9_]{1,64}), else 0. */
int  hub_pkg_id_valid(const char *id);
/* 1 when an sdk_abi string ("1.1") is one this hub serves, else 0 (also for malformed). */
int  hub_pkg_abi_compatible(const char *sdk_abi);

/* Tooling used by the CLI and the build: */
/*
 * Create an Ed25519 key pair: the private key as PKCS#8 PEM at `pem_path` (must not exist;
 * mode 0600), and, when `trust_path` is not NULL, its public entry added to that trust file
 * (created when absent). Nothing is left behind on failure.
 */
int  hub_pkg_keygen(const char *pem_path, const char *publisher, const char *key_id,
                    const char *trust_path /* appended or created */, struct hub_error *err);
/* The trust entry {"publisher":..,"key_id":..,"public_key":..} of the private key at
 * `pem_path`, as one line of JSON in `out`. */
int  hub_pkg_public_entry(const char *pem_path, const char *publisher, const char *key_id,
                          char *out, size_t cap, struct hub_error *err);
/*
 * Load the connector at `so_path` (hub_plugin_load: every loader check applies) and write the
 * unsigned package <out_marketplace_dir>/packages/<id>/<version>/{manifest.json,<id>.so
 * [,icon.svg|icon.png]}; the folder name goes to `pkg_dir_out`. `description` NULL: the
 * display name. `topics_csv` "a,b" lists the webhook topics (only for a connector with webhook
 * ops). Packing a version again replaces its files and removes its manifest.sig.
 */
int  hub_pkg_pack(const char *so_path, const char *out_marketplace_dir, const char *description,
                  const char *icon_path /*NULL*/, const char *topics_csv /*NULL*/,
                  char *pkg_dir_out, size_t cap, struct hub_error *err);
/*
 * Sign the package in `pkg_dir`: refuses a manifest hub_pkg_manifest_parse refuses and a .so
 * or icon that does not match it; sets publisher/key_id in the manifest, rewrites it, writes
 * manifest.sig (the old one is removed first).
 */
int  hub_pkg_sign(const char *pkg_dir, const char *pem_path, const char *publisher,
                  const char *key_id, struct hub_error *err);
/*
 * Write <marketplace_dir>/index.json from packages/<id>/<version>/manifest.json (scans
 * packages/; hidden entries and non-folders skipped). Refuses a folder that is not an id or a
 * semver, an invalid manifest, a manifest in the wrong folder. Rewrites only on change.
 */
int  hub_pkg_index_write(const char *marketplace_dir, struct hub_error *err);
/*
 * The Ed25519 signature of `len` bytes with the private key at `pem_path` (a regular file
 * not readable by group or others), as standard base64 plus NUL in `out` (cap >= 89).
 * hub_pkg_sign uses it after checking the manifest; tests use it to sign anything.
 */
int  hub_pkg_sign_bytes(const char *pem_path, const void *data, size_t len, char *out,
                        size_t cap, struct hub_error *err);
/* Write `len` bytes to `path` atomically: a temporary ".<name>.XXXXXX" in the same folder,
 * fsync, chmod `mode`, rename over `path`. Nothing is left behind on failure. */
int  hub_pkg_write_file(const char *path, const void *data, size_t len, mode_t mode,
                        struct hub_error *err);

#endif
