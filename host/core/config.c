#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX   (1024 * 1024)
#define CONFIG_LINES_MAX  4096

struct cfg_key {
    const char *key;
    const char *env;
};

static const struct cfg_key cfg_keys[] = {
    { "database_url",    "DATABASE_URL" },
    { "listen",          "SX_LISTEN" },
    { "plugin_dir",      "SX_PLUGIN_DIR" },
    { "public_url",      "SX_PUBLIC_URL" },
    { "master_key_file", "SX_MASTER_KEY_FILE" },
    { "workers",         "SX_WORKERS" },
    { "job_lease_ms",    "SX_JOB_LEASE_MS" },
    { "job_retention_h", "SX_JOB_RETENTION_H" },
    { "webhook_yield_lag_ms", "SX_WEBHOOK_YIELD_LAG_MS" },
    { "log_level",       "SX_LOG_LEVEL" },
    { "log_format",      "SX_LOG_FORMAT" },
    { "max_body_bytes",  "SX_MAX_BODY_BYTES" },
    { "max_headers",     "SX_MAX_HEADERS" },
    { "ready_file",      "SX_READY_FILE" },
    { "migrations_dir",  "SX_MIGRATIONS_DIR" },
    { "marketplace_dir", "SX_MARKETPLACE_DIR" },
    { "marketplace_trust", "SX_MARKETPLACE_TRUST" },
};

void
hub_config_defaults(struct hub_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->plugin_dir, sizeof(cfg->plugin_dir), "./build/plugins");
    cfg->workers = 4;
    cfg->job_lease_ms = 30000;
    cfg->job_retention_h = 168;
    cfg->webhook_yield_lag_ms = 5000;
    cfg->log_level = HUB_LOG_INFO;
    cfg->log_json = 1;
    cfg->max_body_bytes = 1024 * 1024;
    cfg->max_headers = 64;
}

static int
set_str(char *dst, size_t cap, const char *key, const char *value, const char *origin,
        struct hub_error *err)
{
    if (strlen(value) >= cap)
        return hub_error_set(err, HUB_E_CONFIG, "%s: %s is longer than %zu bytes", origin, key,
                             cap - 1);
    snprintf(dst, cap, "%s", value);
    return 0;
}

static int
parse_long(const char *value, long min, long max, long *out)
{
    char *end;
    long  v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
parse_listen(struct hub_config *cfg, const char *value, const char *origin,
             struct hub_error *err)
{
    const char *colon = strrchr(value, ':');
    long        port;
    size_t      hlen;

    if (colon == NULL || parse_long(colon + 1, 0, 65535, &port) < 0)
        return hub_error_set(err, HUB_E_CONFIG, "%s: listen must be host:port (port 0-65535), "
                             "got \"%s\"", origin, value);
    hlen = (size_t)(colon - value);
    if (hlen == 0 || hlen >= sizeof(cfg->listen_host))
        return hub_error_set(err, HUB_E_CONFIG, "%s: listen host is empty or too long", origin);
    memcpy(cfg->listen_host, value, hlen);
    cfg->listen_host[hlen] = '\0';
    cfg->listen_port = (int)port;
    return 0;
}

int
hub_config_set(struct hub_config *cfg, const char *key, const char *value, const char *origin,
               struct hub_error *err)
{
    long v;

    if (strcmp(key, "database_url") == 0)
        return set_str(cfg->database_url, sizeof(cfg->database_url), key, value, origin, err);
    if (strcmp(key, "listen") == 0)
        return parse_listen(cfg, value, origin, err);
    if (strcmp(key, "plugin_dir") == 0)
        return set_str(cfg->plugin_dir, sizeof(cfg->plugin_dir), key, value, origin, err);
    if (strcmp(key, "marketplace_dir") == 0)
        return set_str(cfg->marketplace_dir, sizeof(cfg->marketplace_dir), key, value, origin,
                       err);
    if (strcmp(key, "marketplace_trust") == 0)
        return set_str(cfg->marketplace_trust, sizeof(cfg->marketplace_trust), key, value,
                       origin, err);
    if (strcmp(key, "public_url") == 0)
        return set_str(cfg->public_url, sizeof(cfg->public_url), key, value, origin, err);
    if (strcmp(key, "master_key_file") == 0)
        return set_str(cfg->master_key_file, sizeof(cfg->master_key_file), key, value, origin,
                       err);
    if (strcmp(key, "ready_file") == 0)
        return set_str(cfg->ready_file, sizeof(cfg->ready_file), key, value, origin, err);
    if (strcmp(key, "migrations_dir") == 0)
        return set_str(cfg->migrations_dir, sizeof(cfg->migrations_dir), key, value, origin,
                       err);
    if (strcmp(key, "workers") == 0) {
        if (parse_long(value, 0, 64, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: workers must be 0-64, got \"%s\"",
                                 origin, value);
        cfg->workers = (int)v;
        return 0;
    }
    if (strcmp(key, "job_lease_ms") == 0) {
        if (parse_long(value, 1000, 3600000, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: job_lease_ms must be 1000-3600000, "
                                 "got \"%s\"", origin, value);
        cfg->job_lease_ms = (int)v;
        return 0;
    }
    if (strcmp(key, "job_retention_h") == 0) {
        if (parse_long(value, 0, 87600, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: job_retention_h must be 0-87600 "
                                 "(hours; 0 keeps done jobs), got \"%s\"", origin, value);
        cfg->job_retention_h = (int)v;
        return 0;
    }
    if (strcmp(key, "webhook_yield_lag_ms") == 0) {
        if (parse_long(value, 0, 600000, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: webhook_yield_lag_ms must be 0-600000 "
                                 "(ms; 0: processing never yields), got \"%s\"", origin, value);
        cfg->webhook_yield_lag_ms = (int)v;
        return 0;
    }
    if (strcmp(key, "max_body_bytes") == 0) {
        if (parse_long(value, 1024, 64L * 1024 * 1024, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: max_body_bytes must be 1024-67108864, "
                                 "got \"%s\"", origin, value);
        cfg->max_body_bytes = (size_t)v;
        return 0;
    }
    if (strcmp(key, "max_headers") == 0) {
        if (parse_long(value, 8, 1024, &v) < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: max_headers must be 8-1024, got \"%s\"",
                                 origin, value);
        cfg->max_headers = (int)v;
        return 0;
    }
    if (strcmp(key, "log_level") == 0) {
        int lvl = hub_log_level_parse(value);

        if (lvl < 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: log_level must be error, warn, info or "
                                 "debug, got \"%s\"", origin, value);
        cfg->log_level = lvl;
        return 0;
    }
    if (strcmp(key, "log_format") == 0) {
        if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
            return hub_error_set(err, HUB_E_CONFIG, "%s: log_format must be json or text, got "
                                 "\"%s\"", origin, value);
        cfg->log_json = strcmp(value, "json") == 0;
        return 0;
    }
    return hub_error_set(err, HUB_E_CONFIG, "%s: unknown setting \"%s\"", origin, key);
}

static char *
trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

int
hub_config_parse(struct hub_config *cfg, const char *text, size_t len, const char *origin,
                 struct hub_error *err)
{
    char  *copy, *line, *next, *end;
    char   where[HUB_CFG_STR + 32];
    int    lineno = 0, rc = 0;

    if (len > CONFIG_FILE_MAX)
        return hub_error_set(err, HUB_E_LIMIT, "%s: config is larger than %d bytes", origin,
                             CONFIG_FILE_MAX);
    if (memchr(text, '\0', len) != NULL)
        return hub_error_set(err, HUB_E_CONFIG, "%s: config contains a NUL byte", origin);
    copy = malloc(len + 1);
    if (copy == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "%s: out of memory", origin);
    memcpy(copy, text, len);
    copy[len] = '\0';
    end = copy + len;
    for (line = copy; line < end && rc == 0; line = next) {
        char *eq, *key, *val, *nl = memchr(line, '\n', (size_t)(end - line));

        next = nl != NULL ? nl + 1 : end;
        if (nl == NULL)
            nl = end;
        if (++lineno > CONFIG_LINES_MAX) {
            rc = hub_error_set(err, HUB_E_LIMIT, "%s: more than %d lines", origin,
                               CONFIG_LINES_MAX);
            break;
        }
        *nl = '\0';
        line = trim(line, nl);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL) {
            rc = hub_error_set(err, HUB_E_CONFIG, "%s:%d: expected key = value", origin, lineno);
            break;
        }
        key = trim(line, eq);
        val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
            val[strlen(val) - 1] = '\0';
            val++;
        }
        snprintf(where, sizeof(where), "%.1000s:%d", origin, lineno);
        rc = hub_config_set(cfg, key, val, where, err);
    }
    free(copy);
    return rc;
}

int
hub_config_load_file(struct hub_config *cfg, const char *path, struct hub_error *err)
{
    FILE  *f = fopen(path, "rb");
    char  *buf;
    size_t n;
    int    rc;

    if (f == NULL)
        return hub_error_set(err, HUB_E_IO, "cannot open config file %s: %s", path,
                             strerror(errno));
    buf = malloc(CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    fclose(f);
    rc = hub_config_parse(cfg, buf, n, path, err);
    free(buf);
    return rc;
}

int
hub_config_load_env(struct hub_config *cfg, struct hub_error *err)
{
    size_t i;
    int    rc;

    for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
        const char *v = getenv(cfg_keys[i].env);

        if (v == NULL || v[0] == '\0')
            continue;
        rc = hub_config_set(cfg, cfg_keys[i].key, v, cfg_keys[i].env, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
hub_config_finish(struct hub_config *cfg, struct hub_error *err)
{
    size_t len;

    if (cfg->public_url[0] == '\0' && cfg->listen_port != 0)
        snprintf(cfg->public_url, sizeof(cfg->public_url), "http://%.255s:%d", cfg->listen_host,
                 cfg->listen_port);
    len = strlen(cfg->public_url);
    while (len > 0 && cfg->public_url[len - 1] == '/')
        cfg->public_url[--len] = '\0';
    if (len > 0 && strncmp(cfg->public_url, "http://", 7) != 0 &&
        strncmp(cfg->public_url, "https://", 8) != 0)
        return hub_error_set(err, HUB_E_CONFIG, "public_url must start with http:// or https://");
    return 0;
}
