/*
 * Fuzz target: hub_config_parse (host/core/config.c), the config file reader, on arbitrary
 * bytes, then hub_config_finish.
 *
 * Invariants checked (abort() on violation, so both libFuzzer and the replay driver report it):
 *   - the result is 0 or HUB_E_CONFIG / HUB_E_LIMIT / HUB_E_NOMEM, and on failure `err`
 *     carries that code and a non-empty, NUL-terminated message;
 *   - every string field stays NUL-terminated inside its array, every number inside the
 *     range hub_config_set documents;
 *   - parsing is deterministic: the same text on fresh defaults gives the same result;
 *   - after hub_config_finish succeeds, public_url is empty or http(s):// without a
 *     trailing '/'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"

#include "fuzz_check.h"

static int
str_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void
check_config(const struct hub_config *cfg)
{
    FUZZ_CHECK(str_ok(cfg->database_url, sizeof(cfg->database_url)));
    FUZZ_CHECK(str_ok(cfg->listen_host, sizeof(cfg->listen_host)));
    FUZZ_CHECK(str_ok(cfg->plugin_dir, sizeof(cfg->plugin_dir)));
    FUZZ_CHECK(str_ok(cfg->public_url, sizeof(cfg->public_url)));
    FUZZ_CHECK(str_ok(cfg->master_key_file, sizeof(cfg->master_key_file)));
    FUZZ_CHECK(str_ok(cfg->ready_file, sizeof(cfg->ready_file)));
    FUZZ_CHECK(str_ok(cfg->migrations_dir, sizeof(cfg->migrations_dir)));
    FUZZ_CHECK(cfg->listen_host[0] != '\0');
    FUZZ_CHECK(cfg->listen_port >= 0 && cfg->listen_port <= 65535);
    FUZZ_CHECK(cfg->workers >= 0 && cfg->workers <= 64);
    FUZZ_CHECK(cfg->log_level >= HUB_LOG_ERROR && cfg->log_level <= HUB_LOG_DEBUG);
    FUZZ_CHECK(cfg->log_json == 0 || cfg->log_json == 1);
    FUZZ_CHECK(cfg->max_body_bytes >= 1024 && cfg->max_body_bytes <= 64u * 1024 * 1024);
    FUZZ_CHECK(cfg->max_headers >= 8 && cfg->max_headers <= 1024);
    FUZZ_CHECK(cfg->job_lease_ms >= 1000 && cfg->job_lease_ms <= 3600000);
}

static void
check_error(int rc, const struct hub_error *err)
{
    FUZZ_CHECK(rc == 0 || rc == HUB_E_CONFIG || rc == HUB_E_LIMIT || rc == HUB_E_NOMEM);
    if (rc < 0) {
        FUZZ_CHECK(err->code == rc);
        FUZZ_CHECK(str_ok(err->msg, sizeof(err->msg)));
        FUZZ_CHECK(err->msg[0] != '\0');
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* static: two configs are ~7 KiB each, keep them off the fuzzer's stack. */
    static struct hub_config cfg, again;
    struct hub_error         err, err2;
    int                      rc, rc2;

    hub_config_defaults(&cfg);
    hub_error_clear(&err);
    rc = hub_config_parse(&cfg, (const char *)data, size, "fuzz.conf", &err);
    check_error(rc, &err);
    check_config(&cfg);

    hub_config_defaults(&again);
    hub_error_clear(&err2);
    rc2 = hub_config_parse(&again, (const char *)data, size, "fuzz.conf", &err2);
    FUZZ_CHECK(rc2 == rc);
    FUZZ_CHECK(memcmp(&cfg, &again, sizeof(cfg)) == 0);
    if (rc < 0)
        FUZZ_CHECK(strcmp(err.msg, err2.msg) == 0);

    hub_error_clear(&err);
    rc = hub_config_finish(&cfg, &err);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_CONFIG);
    check_config(&cfg);
    if (rc == 0 && cfg.public_url[0] != '\0') {
        size_t len = strlen(cfg.public_url);

        FUZZ_CHECK(strncmp(cfg.public_url, "http://", 7) == 0 ||
                   strncmp(cfg.public_url, "https://", 8) == 0);
        FUZZ_CHECK(cfg.public_url[len - 1] != '/');
    }
    return 0;
}
