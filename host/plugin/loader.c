#include "plugin/loader.h"
#include "core/log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sizes each struct had in ABI 1.0: a plugin's struct may not be smaller. */
#define CONNECTOR_SIZE_1_0  SX_SIZE_THROUGH(sx_connector, test_connection)
#define ENTITY_SIZE_1_0     SX_SIZE_THROUGH(sx_entity_ops, push)
#define AUTH_SIZE_1_0       SX_SIZE_THROUGH(sx_auth_ops, refresh)
#define WEBHOOK_SIZE_1_0    SX_SIZE_THROUGH(sx_webhook_ops, unsubscribe)

#define PLUGIN_STR_MAX      256     /* display name, version, license, config keys and help */

static int
fail(struct hub_error *err, int code, const struct hub_plugin *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct hub_error *err, int code, const struct hub_plugin *p, const char *fmt, ...)
{
    char    msg[HUB_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return hub_error_set(err, code, "%s: %s", p->file, msg);
}

/* A string the plugin gave us: non-NULL, NUL-terminated within `max`, printable. */
static int
plugin_str_ok(const char *s, size_t max)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < max; i++) {
        if (s[i] == '\0')
            return 1;
        if ((unsigned char)s[i] < 0x20)
            return 0;
    }
    return 0;
}

static int
id_ok(const char *id)
{
    size_t i;

    if (id == NULL || id[0] == '\0')
        return 0;
    for (i = 0; id[i] != '\0'; i++) {
        if (i >= HUB_PLUGIN_ID_MAX - 1)
            return 0;
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
            return 0;
    }
    return 1;
}

/* MAJOR.MINOR.PATCH with an optional -prerelease / +build of [0-9A-Za-z.-]. */
static int
semver_ok(const char *v)
{
    int    part = 0, digits = 0;
    size_t i;

    for (i = 0; v[i] != '\0' && i < 64; i++) {
        char c = v[i];

        if (c >= '0' && c <= '9') {
            digits++;
            continue;
        }
        if (c == '.' && digits > 0 && part < 2) {
            part++;
            digits = 0;
            continue;
        }
        if ((c == '-' || c == '+') && part == 2 && digits > 0) {
            for (i++; v[i] != '\0' && i < 64; i++) {
                c = v[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '.' || c == '-' || c == '+'))
                    return 0;
            }
            return v[i] == '\0';
        }
        return 0;
    }
    return v[i] == '\0' && part == 2 && digits > 0;
}

/* Check an embedded header: ABI version and size bounds. `what` names the struct. */
static int
check_header(const struct hub_plugin *p, const sx_header *h, const char *what, size_t min_size,
             size_t host_size, struct hub_error *err)
{
    uint32_t major = SX_ABI_VERSION_MAJOR(h->abi_version);
    uint32_t minor = SX_ABI_VERSION_MINOR(h->abi_version);

    if (major != SX_ABI_MAJOR || minor > SX_ABI_MINOR)
        return fail(err, HUB_E_PLUGIN_ABI, p,
                    "%s was built for SDK ABI %u.%u; this hub serves %u.0 to %u.%u", what, major,
                    minor, SX_ABI_MAJOR, SX_ABI_MAJOR, SX_ABI_MINOR);
    if (h->struct_size < min_size)
        return fail(err, HUB_E_PLUGIN_ABI, p,
                    "%s is %u bytes, smaller than the %zu bytes of ABI %u.0; the plugin is corrupt "
                    "or built with mismatched headers", what, h->struct_size, min_size,
                    SX_ABI_MAJOR);
    if (h->struct_size > host_size)
        return fail(err, HUB_E_PLUGIN_ABI, p,
                    "%s is %u bytes, larger than the %zu bytes this hub knows for ABI %u.%u; the "
                    "plugin was built with newer or modified headers", what, h->struct_size,
                    host_size, SX_ABI_MAJOR, SX_ABI_MINOR);
    return 0;
}

/* Expected id from the file name: "<id>.so" or "<id>@<version>.so". */
static void
id_from_file(const char *file, char *out, size_t cap)
{
    size_t n = strcspn(file, "@.");

    if (n >= cap)
        n = cap - 1;
    memcpy(out, file, n);
    out[n] = '\0';
}

static int
validate_config(struct hub_plugin *p, struct hub_error *err)
{
    const sx_config_field *f = p->desc.config;
    size_t                 i, j;

    if (f == NULL)
        return 0;
    for (i = 0; f[i].key != NULL; i++) {
        if (i >= HUB_PLUGIN_MAX_CONFIG)
            return fail(err, HUB_E_PLUGIN, p, "config table has more than %d fields or no NULL "
                        "terminator", HUB_PLUGIN_MAX_CONFIG);
        if (!id_ok(f[i].key))
            return fail(err, HUB_E_PLUGIN, p, "config field %zu has an invalid key (want "
                        "[a-z0-9_]+)", i);
        if (f[i].kind < SX_CFG_STRING || f[i].kind > SX_CFG_BOOL)
            return fail(err, HUB_E_PLUGIN, p, "config field \"%s\" has unknown kind %u",
                        f[i].key, f[i].kind);
        if (f[i].help != NULL && !plugin_str_ok(f[i].help, PLUGIN_STR_MAX * 4))
            return fail(err, HUB_E_PLUGIN, p, "config field \"%s\" has an unterminated help text",
                        f[i].key);
        for (j = 0; j < i; j++) {
            if (strcmp(f[j].key, f[i].key) == 0)
                return fail(err, HUB_E_PLUGIN, p, "config field \"%s\" is declared twice",
                            f[i].key);
        }
    }
    p->n_config = i;
    return 0;
}

static int
validate_entities(struct hub_plugin *p, struct hub_error *err)
{
    const sx_entity_ops *const *ents = p->desc.entities;
    char                        what[64];
    size_t                      i, j;
    int                         rc;

    if (ents == NULL || ents[0] == NULL)
        return fail(err, HUB_E_PLUGIN, p, "declares no entity (entities is empty)");
    for (i = 0; ents[i] != NULL; i++) {
        sx_entity_ops *e;

        if (i >= HUB_PLUGIN_MAX_ENTITIES)
            return fail(err, HUB_E_PLUGIN, p, "entities has more than %d entries or no NULL "
                        "terminator", HUB_PLUGIN_MAX_ENTITIES);
        snprintf(what, sizeof(what), "entities[%zu]", i);
        rc = check_header(p, &ents[i]->hdr, what, ENTITY_SIZE_1_0, sizeof(sx_entity_ops), err);
        if (rc < 0)
            return rc;
        e = &p->entities[i];
        memset(e, 0, sizeof(*e));
        memcpy(e, ents[i], ents[i]->hdr.struct_size);

        if (e->entity == SX_ENTITY_NONE || e->entity >= SX_ENTITY__COUNT)
            return fail(err, HUB_E_PLUGIN, p, "entities[%zu] has unknown entity %u", i, e->entity);
        if (e->directions == 0 || (e->directions & ~(uint32_t)(SX_DIR_IMPORT | SX_DIR_EXPORT)))
            return fail(err, HUB_E_PLUGIN, p, "entity %s has invalid directions 0x%x",
                        sx_entity_name(e->entity), e->directions);
        if ((e->directions & SX_DIR_IMPORT) && e->list == NULL)
            return fail(err, HUB_E_PLUGIN, p, "entity %s declares import but its list callback "
                        "is NULL", sx_entity_name(e->entity));
        if ((e->directions & SX_DIR_EXPORT) && e->push == NULL)
            return fail(err, HUB_E_PLUGIN, p, "entity %s declares export but its push callback "
                        "is NULL", sx_entity_name(e->entity));
        if (!(e->directions & SX_DIR_EXPORT) && e->push != NULL)
            return fail(err, HUB_E_PLUGIN, p, "entity %s has a push callback but does not "
                        "declare export", sx_entity_name(e->entity));
        /* ABI 1.1 (zero in a 1.0 table: no batch). */
        if (e->push_batch != NULL && (e->push == NULL || e->max_batch < 2 || e->max_batch > 1000))
            return fail(err, HUB_E_PLUGIN, p, "entity %s has push_batch but no push, or "
                        "max_batch %u is not 2..1000", sx_entity_name(e->entity), e->max_batch);
        if (e->push_batch == NULL)
            e->max_batch = 0;
        /* ABI 1.2 (NULL in older tables: no deletion sweep). */
        if (e->list_ids != NULL && !(e->directions & SX_DIR_IMPORT))
            return fail(err, HUB_E_PLUGIN, p, "entity %s has list_ids but does not declare "
                        "import", sx_entity_name(e->entity));
        for (j = 0; j < i; j++) {
            if (p->entities[j].entity == e->entity)
                return fail(err, HUB_E_PLUGIN, p, "entity %s is declared twice",
                            sx_entity_name(e->entity));
        }
    }
    p->n_entities = i;
    return 0;
}

static int
validate_auth(struct hub_plugin *p, struct hub_error *err)
{
    sx_auth_ops *a = &p->auth;
    int          rc;

    if (p->desc.auth_kind > SX_AUTH_BASIC)
        return fail(err, HUB_E_PLUGIN, p, "auth_kind %u is unknown", p->desc.auth_kind);
    if (p->desc.auth == NULL) {
        if (p->desc.auth_kind != SX_AUTH_NONE)
            return fail(err, HUB_E_PLUGIN, p, "auth_kind is %s but the auth table is NULL",
                        hub_auth_kind_name(p->desc.auth_kind));
        return 0;
    }
    rc = check_header(p, &p->desc.auth->hdr, "the auth table", AUTH_SIZE_1_0,
                      sizeof(sx_auth_ops), err);
    if (rc < 0)
        return rc;
    memset(a, 0, sizeof(*a));
    memcpy(a, p->desc.auth, p->desc.auth->hdr.struct_size);
    p->has_auth = 1;

    switch (a->apply) {
    case SX_APPLY_NONE:
        break;
    case SX_APPLY_BEARER:
        if (!id_ok(a->token_key))
            return fail(err, HUB_E_PLUGIN, p, "auth applies a bearer token but token_key is "
                        "missing or invalid");
        break;
    case SX_APPLY_HEADER:
        if (!plugin_str_ok(a->header_name, 128) || a->header_name[0] == '\0' ||
            !id_ok(a->token_key))
            return fail(err, HUB_E_PLUGIN, p, "auth applies a header but header_name or "
                        "token_key is missing or invalid");
        break;
    case SX_APPLY_BASIC:
        if (!id_ok(a->user_key) || (a->pass_key != NULL && !id_ok(a->pass_key)))
            return fail(err, HUB_E_PLUGIN, p, "auth applies Basic but user_key/pass_key is "
                        "missing or invalid");
        break;
    case SX_APPLY_CUSTOM:
        if (a->sign == NULL)
            return fail(err, HUB_E_PLUGIN, p, "auth applies a custom signature but its sign "
                        "callback is NULL");
        break;
    default:
        return fail(err, HUB_E_PLUGIN, p, "auth apply mode %u is unknown", a->apply);
    }
    if (p->desc.auth_kind == SX_AUTH_OAUTH2_CODE &&
        (a->authorize_url == NULL || a->exchange_code == NULL))
        return fail(err, HUB_E_PLUGIN, p, "auth_kind is oauth2_code but authorize_url or "
                    "exchange_code is NULL");
    return 0;
}

static int
validate_webhook(struct hub_plugin *p, struct hub_error *err)
{
    sx_webhook_ops *w = &p->webhook;
    int             wants = (p->desc.caps & SX_CAP_WEBHOOKS) != 0;
    int             rc;

    if (p->desc.webhook == NULL) {
        if (wants)
            return fail(err, HUB_E_PLUGIN, p, "caps declare webhooks but the webhook table is "
                        "NULL");
        return 0;
    }
    if (!wants)
        return fail(err, HUB_E_PLUGIN, p, "has a webhook table but caps lack SX_CAP_WEBHOOKS");
    rc = check_header(p, &p->desc.webhook->hdr, "the webhook table", WEBHOOK_SIZE_1_0,
                      sizeof(sx_webhook_ops), err);
    if (rc < 0)
        return rc;
    memset(w, 0, sizeof(*w));
    memcpy(w, p->desc.webhook, p->desc.webhook->hdr.struct_size);
    p->has_webhook = 1;

    if (w->translate == NULL)
        return fail(err, HUB_E_PLUGIN, p, "webhook translate callback is NULL");
    if (w->sig_scheme > SX_SIG_HMAC_URL_BODY_B64)
        return fail(err, HUB_E_PLUGIN, p, "webhook signature scheme %u is unknown",
                    w->sig_scheme);
    if (w->sig_scheme == SX_SIG_CUSTOM && w->verify == NULL)
        return fail(err, HUB_E_PLUGIN, p, "webhook signature scheme is custom but verify is "
                    "NULL");
    if (w->sig_scheme != SX_SIG_CUSTOM &&
        (!plugin_str_ok(w->sig_header, 128) || w->sig_header[0] == '\0' ||
         !id_ok(w->secret_key)))
        return fail(err, HUB_E_PLUGIN, p, "webhook sig_header or secret_key is missing or "
                    "invalid");
    if (w->dedupe_header != NULL && !plugin_str_ok(w->dedupe_header, 128))
        return fail(err, HUB_E_PLUGIN, p, "webhook dedupe_header is not a valid string");
    if (w->topic_header != NULL && !plugin_str_ok(w->topic_header, 128))
        return fail(err, HUB_E_PLUGIN, p, "webhook topic_header is not a valid string");
    if ((w->subscribe == NULL) != (w->unsubscribe == NULL))
        return fail(err, HUB_E_PLUGIN, p, "webhook subscribe and unsubscribe must both be set "
                    "or both be NULL");
    return 0;
}

/* Everything after dlopen: entry, ABI, copies, validation. */
static int
plugin_bind(struct hub_plugin *p, const char *expect_id, struct hub_error *err)
{
    const sx_connector *d;
    sx_entry_fn         entry;
    char                want[HUB_PLUGIN_ID_MAX];
    void               *sym;
    int                 rc;

    dlerror();
    sym = dlsym(p->dl, SX_ENTRY_SYMBOL);
    if (sym == NULL)
        return fail(err, HUB_E_PLUGIN, p, "not a Simplix connector (no %s)", SX_ENTRY_SYMBOL);
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
    memcpy(&entry, &sym, sizeof(entry));
    d = entry();
    if (d == NULL)
        return fail(err, HUB_E_PLUGIN, p, "%s returned NULL", SX_ENTRY_SYMBOL);

    /* Only the header until the versions are known to be ours. */
    p->abi_major = SX_ABI_VERSION_MAJOR(d->hdr.abi_version);
    p->abi_minor = SX_ABI_VERSION_MINOR(d->hdr.abi_version);
    rc = check_header(p, &d->hdr, "the connector", CONNECTOR_SIZE_1_0, sizeof(sx_connector), err);
    if (rc < 0)
        return rc;
    memset(&p->desc, 0, sizeof(p->desc));
    memcpy(&p->desc, d, d->hdr.struct_size);

    if (p->desc.id == NULL || !plugin_str_ok(p->desc.id, HUB_PLUGIN_ID_MAX) ||
        !id_ok(p->desc.id))
        return fail(err, HUB_E_PLUGIN, p, "connector id is missing or invalid (want [a-z0-9_]+, "
                    "at most %d characters)", HUB_PLUGIN_ID_MAX - 1);
    snprintf(p->id, sizeof(p->id), "%s", p->desc.id);
    if (expect_id == NULL) {
        id_from_file(p->file, want, sizeof(want));
        expect_id = want;
    }
    if (strcmp(p->id, expect_id) != 0)
        return fail(err, HUB_E_PLUGIN, p, "declares id \"%s\" but must be \"%s\" (the file "
                    "name and the package id must equal the connector id)", p->id, expect_id);
    if (!plugin_str_ok(p->desc.display_name, PLUGIN_STR_MAX) || p->desc.display_name[0] == '\0')
        return fail(err, HUB_E_PLUGIN, p, "display_name is missing or invalid");
    if (!plugin_str_ok(p->desc.version, 64) || !semver_ok(p->desc.version))
        return fail(err, HUB_E_PLUGIN, p, "version is missing or not semver (MAJOR.MINOR.PATCH)");
    if (p->desc.license != NULL && !plugin_str_ok(p->desc.license, PLUGIN_STR_MAX))
        return fail(err, HUB_E_PLUGIN, p, "license is not a valid string");
    if (p->desc.caps & ~(uint32_t)(SX_CAP_WEBHOOKS | SX_CAP_INCREMENTAL | SX_CAP_DELETES))
        return fail(err, HUB_E_PLUGIN, p, "caps has unknown bits 0x%x", p->desc.caps);
    if (p->desc.test_connection == NULL)
        return fail(err, HUB_E_PLUGIN, p, "required callback test_connection is NULL");
    if ((p->desc.instance_new == NULL) != (p->desc.instance_free == NULL))
        return fail(err, HUB_E_PLUGIN, p, "instance_new and instance_free must both be set or "
                    "both be NULL");

    rc = validate_config(p, err);
    if (rc == 0)
        rc = validate_entities(p, err);
    if (rc == 0)
        rc = validate_auth(p, err);
    if (rc == 0)
        rc = validate_webhook(p, err);
    if (rc < 0)
        return rc;

    /* The host's copies are what we use from now on; never dereference the plugin's tables
     * again except the strings and callbacks they point to (which live in the .so). */
    p->desc.entities = NULL;
    p->desc.auth = p->has_auth ? &p->auth : NULL;
    p->desc.webhook = p->has_webhook ? &p->webhook : NULL;
    return 0;
}

int
hub_plugin_load(const char *path, const char *expect_id, struct hub_plugin **out,
                struct hub_error *err)
{
    struct hub_plugin *p;
    const char        *slash;
    int                rc;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "%s: out of memory", path);
    if (strlen(path) >= sizeof(p->path)) {
        free(p);
        return hub_error_set(err, HUB_E_PLUGIN, "plugin path is too long");
    }
    snprintf(p->path, sizeof(p->path), "%s", path);
    slash = strrchr(path, '/');
    snprintf(p->file, sizeof(p->file), "%s", slash != NULL ? slash + 1 : path);

    dlerror();
    p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (p->dl == NULL) {
        const char *why = dlerror();

        rc = fail(err, HUB_E_PLUGIN, p, "cannot be loaded: %s", why != NULL ? why : "unknown");
        free(p);
        return rc;
    }
    rc = plugin_bind(p, expect_id, err);
    if (rc < 0) {
        dlclose(p->dl);
        free(p);
        return rc;
    }
    atomic_init(&p->refs, 1);
    atomic_init(&p->retired, 0);
    *out = p;
    return 0;
}

void
hub_plugin_unload(struct hub_plugin *p)
{
    if (p == NULL)
        return;
    if (p->dl != NULL)
        dlclose(p->dl);
    free(p);
}

const sx_entity_ops *
hub_plugin_entity(const struct hub_plugin *p, uint32_t entity)
{
    size_t i;

    for (i = 0; i < p->n_entities; i++) {
        if (p->entities[i].entity == entity)
            return &p->entities[i];
    }
    return NULL;
}

const char *
hub_auth_kind_name(uint32_t kind)
{
    switch (kind) {
    case SX_AUTH_NONE:               return "none";
    case SX_AUTH_OAUTH2_CODE:        return "oauth2_code";
    case SX_AUTH_CLIENT_CREDENTIALS: return "client_credentials";
    case SX_AUTH_API_KEY:            return "api_key";
    case SX_AUTH_BASIC:              return "basic";
    default:                         return "unknown";
    }
}

static const char *
cfg_kind_name(uint32_t kind)
{
    switch (kind) {
    case SX_CFG_STRING: return "string";
    case SX_CFG_SECRET: return "secret";
    case SX_CFG_URL:    return "url";
    case SX_CFG_INT:    return "int";
    case SX_CFG_BOOL:   return "bool";
    default:            return "unknown";
    }
}

static const char *
sig_scheme_name(uint32_t s)
{
    switch (s) {
    case SX_SIG_CUSTOM:            return "custom";
    case SX_SIG_HMAC_SHA256_B64:   return "hmac_sha256_base64";
    case SX_SIG_HMAC_SHA256_HEX:   return "hmac_sha256_hex";
    case SX_SIG_HMAC_URL_BODY_B64: return "hmac_sha256_url_body_base64";
    default:                       return "unknown";
    }
}

static int
json_kv_str(struct hub_buf *b, const char *key, const char *val, int comma)
{
    int rc = hub_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);

    if (rc == 0) {
        if (val == NULL)
            rc = hub_buf_puts(b, "null");
        else
            rc = hub_buf_json_str(b, val, strlen(val));
    }
    return rc;
}

int
hub_plugin_describe_json(const struct hub_plugin *p, struct hub_buf *b)
{
    const sx_connector *d = &p->desc;
    size_t              i;
    int                 rc = 0;

    rc |= hub_buf_puts(b, "{");
    rc |= json_kv_str(b, "id", p->id, 0);
    rc |= json_kv_str(b, "display_name", d->display_name, 1);
    rc |= json_kv_str(b, "version", d->version, 1);
    rc |= json_kv_str(b, "license", d->license, 1);
    rc |= json_kv_str(b, "file", p->file, 1);
    rc |= hub_buf_printf(b, ",\"abi\":\"%u.%u\",\"host_abi\":\"%u.%u\"", p->abi_major,
                         p->abi_minor, SX_ABI_MAJOR, SX_ABI_MINOR);
    rc |= json_kv_str(b, "auth_kind", hub_auth_kind_name(d->auth_kind), 1);
    rc |= hub_buf_printf(b, ",\"capabilities\":{\"webhooks\":%s,\"incremental\":%s,"
                         "\"deletes\":%s}",
                         (d->caps & SX_CAP_WEBHOOKS) ? "true" : "false",
                         (d->caps & SX_CAP_INCREMENTAL) ? "true" : "false",
                         (d->caps & SX_CAP_DELETES) ? "true" : "false");
    rc |= hub_buf_puts(b, ",\"entities\":[");
    for (i = 0; i < p->n_entities; i++) {
        const sx_entity_ops *e = &p->entities[i];

        rc |= hub_buf_printf(b, "%s{\"entity\":\"%s\",\"import\":%s,\"export\":%s,"
                             "\"sweep\":%s}", i ? "," : "", sx_entity_name(e->entity),
                             (e->directions & SX_DIR_IMPORT) ? "true" : "false",
                             (e->directions & SX_DIR_EXPORT) ? "true" : "false",
                             e->list_ids != NULL ? "true" : "false");
    }
    rc |= hub_buf_puts(b, "],\"config\":[");
    for (i = 0; i < p->n_config; i++) {
        const sx_config_field *f = &d->config[i];

        rc |= hub_buf_puts(b, i ? ",{" : "{");
        rc |= json_kv_str(b, "key", f->key, 0);
        rc |= json_kv_str(b, "kind", cfg_kind_name(f->kind), 1);
        rc |= hub_buf_printf(b, ",\"required\":%s",
                             (f->flags & SX_CFG_REQUIRED) ? "true" : "false");
        rc |= json_kv_str(b, "help", f->help, 1);
        rc |= hub_buf_puts(b, "}");
    }
    rc |= hub_buf_puts(b, "]");
    if (p->has_webhook) {
        rc |= hub_buf_puts(b, ",\"webhook\":{");
        rc |= json_kv_str(b, "signature", sig_scheme_name(p->webhook.sig_scheme), 0);
        rc |= json_kv_str(b, "signature_header", p->webhook.sig_header, 1);
        rc |= json_kv_str(b, "dedupe_header", p->webhook.dedupe_header, 1);
        rc |= json_kv_str(b, "topic_header", p->webhook.topic_header, 1);
        rc |= hub_buf_printf(b, ",\"timestamp_tolerance_s\":%u,\"subscriptions\":%s}",
                             p->webhook.timestamp_tolerance_s,
                             p->webhook.subscribe ? "true" : "false");
    } else {
        rc |= hub_buf_puts(b, ",\"webhook\":null");
    }
    rc |= hub_buf_puts(b, "}");
    return rc != 0 ? HUB_E_LIMIT : 0;
}

/* ---- registry ------------------------------------------------------------------------------ */

void
hub_plugins_init(struct hub_plugins *reg)
{
    pthread_mutex_init(&reg->lock, NULL);
    reg->head = NULL;
    reg->retired = NULL;
    reg->n = 0;
}

void
hub_plugins_destroy(struct hub_plugins *reg)
{
    struct hub_plugin *p, *next;

    pthread_mutex_lock(&reg->lock);
    for (p = reg->head; p != NULL; p = next) {
        next = p->next;
        hub_plugin_unload(p);
    }
    for (p = reg->retired; p != NULL; p = next) {
        next = p->next;
        hub_plugin_unload(p);
    }
    reg->head = NULL;
    reg->retired = NULL;
    reg->n = 0;
    pthread_mutex_unlock(&reg->lock);
    pthread_mutex_destroy(&reg->lock);
}

/* With the lock held: unload retired plugins whose last call has returned. */
static void
reap_retired(struct hub_plugins *reg)
{
    struct hub_plugin **pp = &reg->retired, *p;

    while ((p = *pp) != NULL) {
        if (atomic_load(&p->refs) == 0) {
            *pp = p->next;
            hub_log_info("plugin", "unloaded %s %s (%s): no call in flight", p->id,
                         p->desc.version, p->file);
            hub_plugin_unload(p);
            continue;
        }
        pp = &p->next;
    }
}

/* With the lock held: detach the current plugin `id` and retire it. */
static void
retire_locked(struct hub_plugins *reg, const char *id)
{
    struct hub_plugin **pp = &reg->head, *p;

    while ((p = *pp) != NULL) {
        if (strcmp(p->id, id) == 0) {
            *pp = p->next;
            reg->n--;
            atomic_store(&p->retired, 1);
            p->next = reg->retired;
            reg->retired = p;
            atomic_fetch_sub(&p->refs, 1);      /* the registry's own reference */
            return;
        }
        pp = &p->next;
    }
}

void
hub_plugins_replace(struct hub_plugins *reg, struct hub_plugin *p)
{
    pthread_mutex_lock(&reg->lock);
    retire_locked(reg, p->id);
    p->next = reg->head;
    reg->head = p;
    reg->n++;
    reap_retired(reg);
    pthread_mutex_unlock(&reg->lock);
}

int
hub_plugins_remove(struct hub_plugins *reg, const char *id)
{
    struct hub_plugin *p;
    int                found = 0;

    pthread_mutex_lock(&reg->lock);
    for (p = reg->head; p != NULL; p = p->next) {
        if (strcmp(p->id, id) == 0)
            found = 1;
    }
    if (found)
        retire_locked(reg, id);
    reap_retired(reg);
    pthread_mutex_unlock(&reg->lock);
    return found ? 0 : HUB_E_NOT_FOUND;
}

struct hub_plugin *
hub_plugins_acquire(struct hub_plugins *reg, const char *id)
{
    struct hub_plugin *p;

    pthread_mutex_lock(&reg->lock);
    for (p = reg->head; p != NULL; p = p->next) {
        if (strcmp(p->id, id) == 0) {
            atomic_fetch_add(&p->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return p;
}

void
hub_plugins_release(struct hub_plugins *reg, struct hub_plugin *p)
{
    if (p == NULL)
        return;
    if (atomic_fetch_sub(&p->refs, 1) == 1 && atomic_load(&p->retired)) {
        pthread_mutex_lock(&reg->lock);
        reap_retired(reg);
        pthread_mutex_unlock(&reg->lock);
    }
}

void
hub_plugins_foreach(struct hub_plugins *reg, void (*fn)(const struct hub_plugin *, void *),
                    void *arg)
{
    struct hub_plugin *p;

    pthread_mutex_lock(&reg->lock);
    for (p = reg->head; p != NULL; p = p->next)
        fn(p, arg);
    pthread_mutex_unlock(&reg->lock);
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
hub_plugins_load_dir(struct hub_plugins *reg, const char *dir, size_t *loaded, size_t *refused,
                     struct hub_error *err)
{
    struct dirent *de;
    DIR           *d;
    char         **names = NULL, path[4096];
    size_t         n = 0, cap = 0, i;
    int            rc = 0;

    *loaded = 0;
    *refused = 0;
    d = opendir(dir);
    if (d == NULL)
        return hub_error_set(err, HUB_E_IO, "plugin folder %s cannot be read: %m", dir);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0 || de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn;

            if (cap >= 4096)
                break;                      /* bounded: a folder is not a plugin farm */
            cap = cap ? cap * 2 : 16;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL) {
                rc = hub_error_set(err, HUB_E_NOMEM, "out of memory listing %s", dir);
                goto out;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory listing %s", dir);
            goto out;
        }
        n++;
    }
    /* Deterministic order; with "<id>@<version>.so" files several versions may sit side by
     * side: the marketplace decides which is active, so plain loading skips versioned files. */
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    for (i = 0; i < n; i++) {
        struct hub_plugin *p;
        struct hub_error   perr;

        if (strchr(names[i], '@') != NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (hub_plugin_load(path, NULL, &p, &perr) < 0) {
            hub_log_warn("plugin", "refused %s", perr.msg);
            (*refused)++;
            continue;
        }
        hub_log_info("plugin", "loaded %s %s from %s (ABI %u.%u)", p->id, p->desc.version,
                     path, p->abi_major, p->abi_minor);
        hub_plugins_replace(reg, p);
        (*loaded)++;
    }
out:
    closedir(d);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
