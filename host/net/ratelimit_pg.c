#include "net/ratelimit_pg.h"
#include "db/db.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_rate_pg {
    pthread_mutex_t       lock;
    struct hub_db         db;
    struct hub_rate_store store;
};

static int64_t
col_i64(PGresult *res, int col)
{
    return strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

static int
pg_update(void *ctx, const char *account, hub_rate_update_fn fn, void *arg,
          struct hub_rate_state *io_state, int64_t *out_result, struct hub_error *err)
{
    struct hub_rate_pg   *pg = ctx;
    struct hub_rate_state st;
    PGresult             *res = NULL;
    char                  v[5][24];
    const char           *p[6];
    int                   rc;

    pthread_mutex_lock(&pg->lock);
    if (pg->db.conn == NULL || PQstatus(pg->db.conn) != CONNECTION_OK) {
        rc = hub_db_ensure(&pg->db, err);
        if (rc == 0)
            rc = hub_db_exec(&pg->db, "SET synchronous_commit = off", err);
        if (rc < 0)
            goto out;
    }
    rc = hub_db_begin(&pg->db, err);
    if (rc < 0)
        goto out;
    snprintf(v[0], sizeof(v[0]), "%" PRId64, io_state->level_u);
    snprintf(v[1], sizeof(v[1]), "%" PRId64, io_state->level_at_ms);
    snprintf(v[2], sizeof(v[2]), "%" PRId64, io_state->blocked_until_ms);
    snprintf(v[3], sizeof(v[3]), "%u", io_state->capacity > 0 ? io_state->capacity : 1);
    snprintf(v[4], sizeof(v[4]), "%u", io_state->rate_milli > 0 ? io_state->rate_milli : 1);
    p[0] = account;
    p[1] = v[0];
    p[2] = v[1];
    p[3] = v[2];
    p[4] = v[3];
    p[5] = v[4];
    rc = hub_db_query(&pg->db, "INSERT INTO rate_limit_buckets (account, level_u, level_at_ms, "
                      "blocked_until, capacity, rate_milli) VALUES ($1, $2, $3, $4, $5, $6) "
                      "ON CONFLICT (account) DO NOTHING", 6, p, NULL, err);
    if (rc == 0)
        rc = hub_db_query(&pg->db, "SELECT level_u, level_at_ms, blocked_until, capacity, "
                          "rate_milli FROM rate_limit_buckets WHERE account = $1 FOR UPDATE",
                          1, p, &res, err);
    if (rc < 0)
        goto rollback;
    if (PQntuples(res) != 1) {
        rc = hub_error_set(err, HUB_E_DB, "rate_limit_buckets: row for %s vanished", account);
        goto rollback;
    }
    st = *io_state;
    st.level_u = col_i64(res, 0);
    st.level_at_ms = col_i64(res, 1);
    st.blocked_until_ms = col_i64(res, 2);
    /* A different capacity or rate in the row is an older policy: ours replaces it, and the
     * level is clamped to the new capacity. */
    if ((uint32_t)col_i64(res, 3) != io_state->capacity ||
        (uint32_t)col_i64(res, 4) != io_state->rate_milli) {
        int64_t cap_u = (int64_t)io_state->capacity * HUB_RATE_UNIT;

        if (st.level_u > cap_u)
            st.level_u = cap_u;
    }
    PQclear(res);
    res = NULL;
    *out_result = fn(&st, arg);
    snprintf(v[0], sizeof(v[0]), "%" PRId64, st.level_u);
    snprintf(v[1], sizeof(v[1]), "%" PRId64, st.level_at_ms);
    snprintf(v[2], sizeof(v[2]), "%" PRId64, st.blocked_until_ms);
    snprintf(v[3], sizeof(v[3]), "%u", st.capacity > 0 ? st.capacity : 1);
    snprintf(v[4], sizeof(v[4]), "%u", st.rate_milli > 0 ? st.rate_milli : 1);
    rc = hub_db_query(&pg->db, "UPDATE rate_limit_buckets SET level_u = $2, level_at_ms = $3, "
                      "blocked_until = $4, capacity = $5, rate_milli = $6, updated_at = now() "
                      "WHERE account = $1", 6, p, NULL, err);
    if (rc < 0)
        goto rollback;
    rc = hub_db_commit(&pg->db, err);
    if (rc == 0)
        *io_state = st;
    goto out;
rollback:
    PQclear(res);
    hub_db_rollback(&pg->db);
out:
    pthread_mutex_unlock(&pg->lock);
    return rc;
}

int
hub_rate_pg_new(const char *conninfo, struct hub_rate_pg **out, struct hub_error *err)
{
    struct hub_rate_pg *pg = calloc(1, sizeof(*pg));
    int                 rc;

    *out = NULL;
    if (pg == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    rc = hub_db_connect(&pg->db, conninfo, err);
    if (rc < 0) {
        free(pg);
        return rc;
    }
    /* A bucket level lost in a database crash is harmless (the platform's own headers
     * re-sync it), while an fsync per request would slow every outbound call. */
    rc = hub_db_exec(&pg->db, "SET synchronous_commit = off", err);
    if (rc < 0) {
        hub_db_close(&pg->db);
        free(pg);
        return rc;
    }
    pthread_mutex_init(&pg->lock, NULL);
    pg->store.update = pg_update;
    pg->store.ctx = pg;
    *out = pg;
    return 0;
}

void
hub_rate_pg_free(struct hub_rate_pg *pg)
{
    if (pg == NULL)
        return;
    hub_db_close(&pg->db);
    pthread_mutex_destroy(&pg->lock);
    free(pg);
}

const struct hub_rate_store *
hub_rate_pg_store(struct hub_rate_pg *pg)
{
    return &pg->store;
}
