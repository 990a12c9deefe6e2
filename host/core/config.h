/*
 * Hub configuration: defaults, then a config file (`key = value` lines, '#' comments), then
 * the environment, then command-line flags; each later source overrides the earlier ones.
 *
 *   key                 env                  default
 *   database_url        DATABASE_URL         (required for serve/migrate)
 *   listen              SX_LISTEN            127.0.0.1:8080   ("host:port"; port 0 = any free)
 *   plugin_dir          SX_PLUGIN_DIR        ./build/plugins
 *   public_url          SX_PUBLIC_URL        http://<listen>  (how platforms reach us)
 *   master_key_file     SX_MASTER_KEY_FILE   (none; SX_MASTER_KEY=keyid:base64 also works)
 *   workers             SX_WORKERS           4
 *   job_lease_ms        SX_JOB_LEASE_MS      30000  (a dead hub's jobs return after this)
 *   job_retention_h     SX_JOB_RETENTION_H   168    (done jobs deleted after; 0 = kept)
 *   webhook_yield_lag_ms SX_WEBHOOK_YIELD_LAG_MS 5000 (processing yields to a burst of
 *                                                    deliveries while less behind; 0 = never)
 *   log_level           SX_LOG_LEVEL         info
 *   log_format          SX_LOG_FORMAT        json   (json | text)
 *   max_body_bytes      SX_MAX_BODY_BYTES    1048576
 *   max_headers         SX_MAX_HEADERS       64
 *   ready_file          SX_READY_FILE        (none; written with {"url":...} once listening)
 *   migrations_dir      SX_MIGRATIONS_DIR    (found automatically)
 *   marketplace_dir     SX_MARKETPLACE_DIR   (none: no marketplace; build/marketplace in a tree)
 *   marketplace_trust   SX_MARKETPLACE_TRUST <marketplace_dir>/trusted-keys.json
 */
#ifndef HUB_CORE_CONFIG_H
#define HUB_CORE_CONFIG_H

#include <stddef.h>

#include "core/error.h"

#define HUB_CFG_STR 1024

struct hub_config {
    char   database_url[HUB_CFG_STR];
    char   listen_host[256];
    int    listen_port;
    char   plugin_dir[HUB_CFG_STR];
    char   public_url[HUB_CFG_STR];
    char   master_key_file[HUB_CFG_STR];
    int    workers;
    int    job_lease_ms;
    int    job_retention_h;
    int    webhook_yield_lag_ms;
    int    log_level;
    int    log_json;
    size_t max_body_bytes;
    int    max_headers;
    char   ready_file[HUB_CFG_STR];
    char   migrations_dir[HUB_CFG_STR];
    char   marketplace_dir[HUB_CFG_STR];
    char   marketplace_trust[HUB_CFG_STR];
};

void hub_config_defaults(struct hub_config *cfg);
/* Set one key from text (file, env or flag). `origin` names the source for messages. */
int  hub_config_set(struct hub_config *cfg, const char *key, const char *value,
                    const char *origin, struct hub_error *err);
/* Parse a config file's text (bounded: 1 MiB, 4096 lines). */
int  hub_config_parse(struct hub_config *cfg, const char *text, size_t len, const char *origin,
                      struct hub_error *err);
int  hub_config_load_file(struct hub_config *cfg, const char *path, struct hub_error *err);
/* Apply the environment variables listed above. */
int  hub_config_load_env(struct hub_config *cfg, struct hub_error *err);
/* Fill derived values (public_url from listen) and check consistency. */
int  hub_config_finish(struct hub_config *cfg, struct hub_error *err);

#endif
