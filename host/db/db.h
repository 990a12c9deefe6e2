/*
 * A thin layer over libpq: one struct hub_db is one connection, used by one thread at a time
 * (libpq connections are not shared across threads). Errors carry PostgreSQL's message and
 * SQLSTATE so callers can tell a serialization failure or a unique violation from the rest.
 */
#ifndef HUB_DB_DB_H
#define HUB_DB_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "core/error.h"

struct hub_db_stmt;

struct hub_db {
    PGconn             *conn;
    char                conninfo[1024];
    int                 in_tx;
    struct hub_db_stmt *stmts;       /* prepared by hub_db_query_prepared, this connection's */
    int                 nstmts;
};

/* Connect (application_name=simplix-hub). 0, or HUB_E_DB with the reason in `err`. */
int  hub_db_connect(struct hub_db *db, const char *conninfo, struct hub_error *err);
void hub_db_close(struct hub_db *db);
/* Reconnect when the connection went bad (server restart). 0 or HUB_E_DB. */
int  hub_db_ensure(struct hub_db *db, struct hub_error *err);

/* Run a statement without results (or whose results are ignored). */
int  hub_db_exec(struct hub_db *db, const char *sql, struct hub_error *err);
/*
 * Run a parameterised statement (text parameters; NULL = SQL NULL). On success *out holds the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), to be freed with PQclear; `out` may be NULL to
 * discard it. On failure returns HUB_E_DB (HUB_E_CONFLICT for unique/serialization/deadlock
 * errors) with "SQLSTATE: message" in `err`.
 */
int  hub_db_query(struct hub_db *db, const char *sql, int nparams, const char *const *params,
                  PGresult **out, struct hub_error *err);
/* The same with every result column in binary format: a bytea column comes as its bytes
 * (PQgetlength), not as hex text to unescape, and a text column as its bytes. Columns of
 * other types have binary layouts of their own: cast them to text in the statement. */
int  hub_db_query_binres(struct hub_db *db, const char *sql, int nparams,
                         const char *const *params, PGresult **out, struct hub_error *err);

/*
 * The same, for a statement run again and again (the engine's page statements): prepared once
 * per connection (named, cached by its text, at most HUB_DB_MAX_PREPARED of them; past that,
 * run unprepared), so PostgreSQL parses and plans it once rather than on every page.
 */
#define HUB_DB_MAX_PREPARED 64
int  hub_db_query_prepared(struct hub_db *db, const char *sql, int nparams,
                           const char *const *params, PGresult **out, struct hub_error *err);
/* The same with PQexecParams' lengths and formats (binary parameters); NULL for all text. */
int  hub_db_query_prepared_bin(struct hub_db *db, const char *sql, int nparams,
                               const char *const *params, const int *lengths,
                               const int *formats, PGresult **out, struct hub_error *err);

int  hub_db_begin(struct hub_db *db, struct hub_error *err);
int  hub_db_commit(struct hub_db *db, struct hub_error *err);
void hub_db_rollback(struct hub_db *db);

/* SQLSTATE of a failed result ("23505"), or "" */
const char *hub_db_sqlstate(const PGresult *res);

#endif
