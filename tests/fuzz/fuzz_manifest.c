/*
 * Fuzz target: hub_pkg_manifest_parse (host/marketplace/package.c), the parser of a connector
 * package's manifest.json, on arbitrary bytes. Seeds: tests/fuzz/corpus/manifest/ (the
 * manifests the build makes for the first-party connectors, and broken variants).
 *
 * Invariants: no crash, no sanitizer report. On success the manifest holds an exact copy of
 * the input, every string field is NUL-terminated inside its array, the id is [a-z0-9_],
 * the version is semver, the file is "<id>.so", the SDK ABI string matches its numbers, and
 * publisher and key_id are both set or both empty. On failure the code is HUB_E_INVALID or
 * HUB_E_REJECTED with a sentence, and nothing is held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketplace/package.h"

#include "fuzz_check.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_pkg_manifest m;
    struct hub_error        err;
    char                    want[80], abi[32];
    int                     rc;

    memset(&err, 0, sizeof(err));
    rc = hub_pkg_manifest_parse((const char *)data, size, &m, &err);
    if (rc < 0) {
        FUZZ_CHECK(rc == HUB_E_INVALID || rc == HUB_E_REJECTED || rc == HUB_E_NOMEM);
        FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
        FUZZ_CHECK(m.json == NULL && m.json_len == 0);
        hub_pkg_manifest_free(&m);
        return 0;
    }
    FUZZ_CHECK(m.json != NULL && m.json_len == size && memcmp(m.json, data, size) == 0);
    FUZZ_CHECK(m.json[size] == '\0');
    FUZZ_CHECK(TERMINATED(m.id) && TERMINATED(m.display_name) && TERMINATED(m.version));
    FUZZ_CHECK(TERMINATED(m.publisher) && TERMINATED(m.key_id) && TERMINATED(m.sdk_abi));
    FUZZ_CHECK(TERMINATED(m.auth_kind) && TERMINATED(m.file) && TERMINATED(m.sha256));
    FUZZ_CHECK(TERMINATED(m.icon) && TERMINATED(m.icon_sha256) && TERMINATED(m.created_at));
    FUZZ_CHECK(hub_pkg_id_valid(m.id));
    FUZZ_CHECK(hub_pkg_semver_valid(m.version));
    FUZZ_CHECK(hub_pkg_semver_cmp(m.version, m.version) == 0);
    snprintf(want, sizeof(want), "%s.so", m.id);
    FUZZ_CHECK(strcmp(m.file, want) == 0);
    FUZZ_CHECK(strchr(m.icon, '/') == NULL && m.icon[0] != '.');
    FUZZ_CHECK((m.icon[0] == '\0') == (m.icon_sha256[0] == '\0'));
    snprintf(abi, sizeof(abi), "%u.%u", m.abi_major, m.abi_minor);
    FUZZ_CHECK(strcmp(abi, m.sdk_abi) == 0);
    FUZZ_CHECK((m.publisher[0] == '\0') == (m.key_id[0] == '\0'));
    FUZZ_CHECK(strlen(m.sha256) == 64);
    FUZZ_CHECK(m.size >= 1 && m.size <= HUB_PKG_SO_MAX);
    FUZZ_CHECK(m.n_config <= HUB_PKG_MAX_CONFIG);
    hub_pkg_manifest_free(&m);
    FUZZ_CHECK(m.json == NULL);
    return 0;
}
