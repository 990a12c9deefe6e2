#include "db/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_db_stmt {
    uint64_t hash;
    char    *sql;
    char     name[24];
};

int
hub_db_connect(struct hub_db *db, const char *conninfo, struct hub_error *err)
{
    const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
    const char *vals[] = { conninfo, "simplix-hub", "10", NULL };

    memset(db, 0, sizeof(*db));
    if (strlen(conninfo) >= sizeof(db->conninfo))
        return hub_error_set(err, HUB_E_CONFIG, "database URL longer than %zu bytes",
                             sizeof(db->conninfo) - 1);
    snprintf(db->conninfo, sizeof(db->conninfo), "%s", conninfo);
    /* expand_dbname=1: `conninfo` may be a URL or key=value string. */
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "database: out of memory");
    if (PQstatus(db->conn) != CONNECTION_OK) {
        hub_error_set(err, HUB_E_DB, "cannot connect to the database: %s",
                      PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
        return HUB_E_DB;
    }
    /* Times are UTC everywhere (DESIGN.md 4), also when printed by the server. */
    if (hub_db_exec(db, "SET TIME ZONE 'UTC'", err) < 0) {
        PQfinish(db->conn);
        db->conn = NULL;
        return HUB_E_DB;
    }
    return 0;
}

static void
stmts_free(struct hub_db *db)
{
    int i;

    for (i = 0; i < db->nstmts; i++)
        free(db->stmts[i].sql);
    free(db->stmts);
    db->stmts = NULL;
    db->nstmts = 0;
}

void
hub_db_close(struct hub_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->in_tx = 0;
    stmts_free(db);          /* prepared statements end with their connection */
}

int
hub_db_ensure(struct hub_db *db, struct hub_error *err)
{
    char conninfo[sizeof(db->conninfo)];

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    memcpy(conninfo, db->conninfo, sizeof(conninfo));
    hub_db_close(db);
    return hub_db_connect(db, conninfo, err);
}

const char *
hub_db_sqlstate(const PGresult *res)
{
    const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return s != NULL ? s : "";
}

static int
result_error(struct hub_db *db, PGresult *res, struct hub_error *err)
{
    const char *state = hub_db_sqlstate(res);
    const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    int         code = HUB_E_DB;
    size_t      len = strlen(msg);

    if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        code = HUB_E_CONFLICT;
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    hub_error_set(err, code, "%s%s%.*s", state, state[0] ? ": " : "", (int)len, msg);
    return code;
}

/* A statement's result: handed to *out (or cleared) on success; its error otherwise. */
static int
take_result(struct hub_db *db, PGresult *res, PGresult **out, struct hub_error *err)
{
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = result_error(db, res, err);

        PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

/* An unprepared statement, its results as text (0) or binary (1). Without parameters and as
 * text, PQexec (several statements may be sent at once). */
static int
query(struct hub_db *db, const char *sql, int nparams, const char *const *params, int binary,
      PGresult **out, struct hub_error *err)
{
    PGresult *res;

    if (out != NULL)
        *out = NULL;
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_DB, "database connection is closed");
    if (nparams == 0 && !binary)
        res = PQexec(db->conn, sql);
    else
        res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, binary);
    return take_result(db, res, out, err);
}

int
hub_db_query(struct hub_db *db, const char *sql, int nparams, const char *const *params,
             PGresult **out, struct hub_error *err)
{
    return query(db, sql, nparams, params, 0, out, err);
}

int
hub_db_query_binres(struct hub_db *db, const char *sql, int nparams, const char *const *params,
                    PGresult **out, struct hub_error *err)
{
    return query(db, sql, nparams, params, 1, out, err);
}

/* The statement without a name: when this connection cannot keep another one. */
static int
unprepared(struct hub_db *db, const char *sql, int nparams, const char *const *params,
           const int *lengths, const int *formats, PGresult **out, struct hub_error *err)
{
    return take_result(db, PQexecParams(db->conn, sql, nparams, NULL, params, lengths, formats,
                                        0), out, err);
}

static uint64_t
text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int
hub_db_query_prepared(struct hub_db *db, const char *sql, int nparams,
                      const char *const *params, PGresult **out, struct hub_error *err)
{
    return hub_db_query_prepared_bin(db, sql, nparams, params, NULL, NULL, out, err);
}

int
hub_db_query_prepared_bin(struct hub_db *db, const char *sql, int nparams,
                          const char *const *params, const int *lengths, const int *formats,
                          PGresult **out, struct hub_error *err)
{
    struct hub_db_stmt *st = NULL;
    PGresult           *res;
    uint64_t            h;
    int                 i;

    if (out != NULL)
        *out = NULL;
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_DB, "database connection is closed");
    h = text_hash(sql);
    for (i = 0; i < db->nstmts; i++) {
        if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0) {
            st = &db->stmts[i];
            break;
        }
    }
    if (st == NULL) {
        char *copy;

        if (db->nstmts >= HUB_DB_MAX_PREPARED)
            return unprepared(db, sql, nparams, params, lengths, formats, out, err);
        if (db->stmts == NULL) {
            db->stmts = calloc(HUB_DB_MAX_PREPARED, sizeof(*db->stmts));
            if (db->stmts == NULL)
                return unprepared(db, sql, nparams, params, lengths, formats, out, err);
        }
        copy = strdup(sql);
        if (copy == NULL)
            return unprepared(db, sql, nparams, params, lengths, formats, out, err);
        st = &db->stmts[db->nstmts];
        snprintf(st->name, sizeof(st->name), "sx_%d", db->nstmts);
        res = PQprepare(db->conn, st->name, sql, nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            int rc = result_error(db, res, err);

            PQclear(res);
            free(copy);
            return rc;
        }
        PQclear(res);
        st->hash = h;
        st->sql = copy;
        db->nstmts++;
    }
    res = PQexecPrepared(db->conn, st->name, nparams, params, lengths, formats, 0);
    return take_result(db, res, out, err);
}

int
hub_db_exec(struct hub_db *db, const char *sql, struct hub_error *err)
{
    return hub_db_query(db, sql, 0, NULL, NULL, err);
}

int
hub_db_begin(struct hub_db *db, struct hub_error *err)
{
    int rc = hub_db_exec(db, "BEGIN", err);

    if (rc == 0)
        db->in_tx = 1;
    return rc;
}

int
hub_db_commit(struct hub_db *db, struct hub_error *err)
{
    int rc = hub_db_exec(db, "COMMIT", err);

    db->in_tx = 0;
    return rc;
}

void
hub_db_rollback(struct hub_db *db)
{
    if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(db->conn, "ROLLBACK");

        PQclear(r);
    }
    db->in_tx = 0;
}
