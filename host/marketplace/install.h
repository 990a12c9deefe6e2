/*
 * Installing connector packages while hubs run (docs/MARKETPLACE.md "Installing").
 *
 * State lives in PostgreSQL, so every hub on the database agrees:
 *   installed_packages   one row per (connector, version): 'active' (at most one per
 *                        connector), 'inactive' (installed before, kept for rollback),
 *                        'removed'; sha256, publisher, key id, the file name in the plugin
 *                        folder ("<id>@<version>.so"), previous_version.
 *   package_events       every step and every refusal, with the actor and the sentence.
 * The CLI or the operator API verifies a package (signature by a trusted publisher, SHA-256,
 * ABI, manifest against the connector's own descriptor, file names) before anything is
 * copied, copies the .so into the plugin folder under its versioned name (temp file, then
 * rename), and changes the rows in one transaction; a failure leaves neither file nor row.
 * Each hub then reconciles (hub_market_reconcile, at start and every ~2 s when
 * package_events moved): it loads the active version of each connector, copying it from the
 * marketplace folder when its own plugin folder lacks it (hubs on other machines), and makes
 * it current with hub_plugins_replace. Calls in flight finish on the version they started
 * with (registry references; the sync engine reopens an instance whose plugin was retired).
 */
#ifndef HUB_MARKETPLACE_INSTALL_H
#define HUB_MARKETPLACE_INSTALL_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "db/db.h"
#include "plugin/loader.h"

struct hub_market_cfg {
    const char *marketplace_dir;   /* packages/, index.json, trusted-keys.json */
    const char *trust_path;        /* NULL: <marketplace_dir>/trusted-keys.json */
    const char *plugin_dir;        /* where versioned .so files go */
    const char *actor;             /* "cli", "api:<token name>" */
};

/*
 * Install `id` at `version` (NULL: the highest version this hub's ABI serves) and make it the
 * active one; the version active before becomes the rollback target. `upgrade` = 1 refuses a
 * version that is not newer than the active one. *out_version gets the version made active.
 * Refusals (HUB_E_SIGNATURE, HUB_E_REJECTED, HUB_E_PLUGIN_ABI, HUB_E_INVALID, HUB_E_CONFLICT,
 * HUB_E_NOT_FOUND) carry one sentence and are recorded in package_events.
 */
int hub_market_install(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
                       const char *version, int upgrade, char *out_version, size_t cap,
                       struct hub_error *err);
/* Make the previous version active again (the one active before the current one). */
int hub_market_rollback(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
                        char *out_version, size_t cap, struct hub_error *err);
/* Remove every version of `id`; refused (HUB_E_CONFLICT) while a non-deleted integration uses
 * it, unless `force`. The hubs unload it. */
int hub_market_remove(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
                      int force, struct hub_error *err);
/* JSON object: {"packages":[{id, display_name, summary, versions:[{version, sdk_abi,
 * compatible, installed, status}], active}], "trusted_keys": n} from index.json and the rows. */
int hub_market_list_json(struct hub_db *db, const struct hub_market_cfg *cfg,
                         struct hub_buf *out, struct hub_error *err);
/*
 * Bring this hub's registry in line with installed_packages: load the active versions that
 * are not current, unload connectors whose every version was removed. `*stamp` is the last
 * package_events id seen: nothing is done when it has not moved (pass 0 to force). Logs each
 * change. 0 or a HUB_E_* code (the registry is left as it was for the failing connector).
 */
int hub_market_reconcile(struct hub_db *db, const struct hub_market_cfg *cfg,
                         struct hub_plugins *reg, int64_t *stamp, struct hub_error *err);

/* `simplix-hub marketplace list|install|upgrade|rollback|remove`; argv[0] = "marketplace".
 * Returns the exit status, or 2 for another subcommand (usage printed by the caller). */
int hub_cli_marketplace_admin(int argc, char **argv);

#endif
