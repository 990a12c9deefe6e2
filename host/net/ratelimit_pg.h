/*
 * The PostgreSQL store for rate limiters: hub processes sharing one database share each
 * platform account's bucket (DESIGN.md 6), through the rate_limit_buckets table. Plug it into
 * hub_rate_registry_new(clock = hub_clock_wall(), store = hub_rate_pg_store(pg)).
 *
 * Each change is one short transaction: INSERT the caller's state when the account has no row
 * yet, SELECT ... FOR UPDATE, apply the pure change, UPDATE, COMMIT. The account's kind and
 * headroom come from the caller's policy (every hub runs the same connector); a capacity or
 * rate that differs from the stored one is the newer policy and replaces it.
 * Thread-safe: one connection behind a mutex (calls are short and rare: one or two per
 * outbound request). When the database fails, the limiter falls back to its local copy and
 * says so in the log.
 */
#ifndef HUB_NET_RATELIMIT_PG_H
#define HUB_NET_RATELIMIT_PG_H

#include "core/error.h"
#include "net/ratelimit.h"

struct hub_rate_pg;

/* Connect to `conninfo`. Free with hub_rate_pg_free() after the registry using it. */
int  hub_rate_pg_new(const char *conninfo, struct hub_rate_pg **out, struct hub_error *err);
void hub_rate_pg_free(struct hub_rate_pg *pg);
/* The store to hand to hub_rate_registry_new(); lives as long as `pg`. */
const struct hub_rate_store *hub_rate_pg_store(struct hub_rate_pg *pg);

#endif
