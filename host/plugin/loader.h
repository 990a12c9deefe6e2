/*
 * The plugin loader: dlopen a connector .so, check its ABI, copy and validate its descriptor.
 *
 * Order (docs/SDK.md "How the hub loads a connector"): dlopen(RTLD_NOW|RTLD_LOCAL) -> entry
 * symbol -> read only the header -> ABI major/minor -> struct size bounds -> zero-filled copy
 * of struct_size bytes -> the same for every nested op table -> field validation -> loaded.
 * Every refusal is one sentence naming the file and the reason.
 *
 * A struct hub_plugin is immutable once loaded and may be used from any thread. Calls into it
 * are counted (hub_plugin_ref/unref) so that a replaced plugin is dlclose()d only when idle.
 */
#ifndef HUB_PLUGIN_LOADER_H
#define HUB_PLUGIN_LOADER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <simplix/simplix.h>

#include "core/buf.h"
#include "core/error.h"

#define HUB_PLUGIN_MAX_ENTITIES  16
#define HUB_PLUGIN_MAX_CONFIG    64
#define HUB_PLUGIN_ID_MAX        64

struct hub_plugin {
    char                  path[4096];
    char                  file[256];        /* basename, for messages */
    char                  id[HUB_PLUGIN_ID_MAX];
    void                 *dl;
    uint32_t              abi_major;        /* what the plugin was built for */
    uint32_t              abi_minor;

    /* The host's own zero-filled copies: never read the plugin's structs after loading. */
    sx_connector          desc;
    sx_entity_ops         entities[HUB_PLUGIN_MAX_ENTITIES];
    size_t                n_entities;
    sx_auth_ops           auth;
    int                   has_auth;
    sx_webhook_ops        webhook;
    int                   has_webhook;
    size_t                n_config;

    atomic_int            refs;             /* calls in flight + registry reference */
    atomic_int            retired;          /* replaced; dlclose when refs reaches 0 */
    struct hub_plugin    *next;             /* registry list */
};

/*
 * Load and validate the connector at `path`. `expect_id` is the id the file must declare; NULL
 * takes it from the file name ("<id>.so" or "<id>@<version>.so").
 * On success *out is a new plugin (free with hub_plugin_unload); on failure HUB_E_PLUGIN or
 * HUB_E_PLUGIN_ABI with one sentence in `err`, and nothing stays loaded.
 */
int  hub_plugin_load(const char *path, const char *expect_id, struct hub_plugin **out,
                     struct hub_error *err);
/* dlclose and free. Only when no call is in flight (see the registry). */
void hub_plugin_unload(struct hub_plugin *p);

/* The entity ops for `entity`, or NULL when the plugin does not declare it. */
const sx_entity_ops *hub_plugin_entity(const struct hub_plugin *p, uint32_t entity);

/* Append the descriptor as a JSON object to `out` (plugin inspect, admin API). */
int  hub_plugin_describe_json(const struct hub_plugin *p, struct hub_buf *out);

/* Names for JSON and messages. */
const char *hub_auth_kind_name(uint32_t kind);

/*
 * The registry of loaded plugins, one current version per id. Thread-safe.
 * acquire() returns the current plugin with a reference (a call in flight), release() drops it;
 * replace() makes a new plugin current and retires the old one, which is dlclose()d when its
 * last call returns (hot swap without stopping the hub).
 */
struct hub_plugins {
    pthread_mutex_t    lock;
    struct hub_plugin *head;           /* current plugins */
    struct hub_plugin *retired;        /* replaced, waiting for their calls to finish */
    size_t             n;
};

void hub_plugins_init(struct hub_plugins *reg);
/* Unload everything (at shutdown, when no call is in flight). */
void hub_plugins_destroy(struct hub_plugins *reg);
/* Load every *.so in `dir`. A refused file is logged with its sentence and skipped; *loaded
 * and *refused count them. Returns 0, or HUB_E_IO when the folder cannot be read. */
int  hub_plugins_load_dir(struct hub_plugins *reg, const char *dir, size_t *loaded,
                          size_t *refused, struct hub_error *err);
/* Make `p` current for its id (taking ownership); the previous one, if any, is retired. */
void hub_plugins_replace(struct hub_plugins *reg, struct hub_plugin *p);
/* Remove the current plugin `id` (retired, unloaded when idle). HUB_E_NOT_FOUND if absent. */
int  hub_plugins_remove(struct hub_plugins *reg, const char *id);
struct hub_plugin *hub_plugins_acquire(struct hub_plugins *reg, const char *id);
void hub_plugins_release(struct hub_plugins *reg, struct hub_plugin *p);
/* Call `fn` for each current plugin under the lock (fn must not call back into the registry). */
void hub_plugins_foreach(struct hub_plugins *reg, void (*fn)(const struct hub_plugin *, void *),
                         void *arg);

#endif
