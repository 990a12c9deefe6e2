-- 0012_oauth_tokens: what the OAuth manager (host/oauth/oauth.h) keeps about an integration's
-- tokens besides the tokens themselves. The tokens are sealed in integration_secrets under the
-- keys "access_token" and "refresh_token" (what the host applies to every request); this row
-- says when they expire, so a worker can refresh before expiry without opening them.
--
-- One refresh at a time per integration, across threads and hub processes: the refresher takes
-- pg_advisory_xact_lock(hashtext('oauth_refresh'), <integration id mod 2^31>), re-reads this
-- row, and stores the new pair and this row in the same transaction. `generation` grows by one
-- with every stored pair (exchange or refresh), so a waiter can tell that someone else did it.
CREATE TABLE oauth_tokens (
    integration_id     bigint      PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    expires_at         timestamptz,                -- access token; NULL = does not expire
    refresh_expires_at timestamptz,                -- refresh token; NULL = unknown / never
    has_refresh        boolean     NOT NULL DEFAULT false,
    scopes             text        CHECK (length(scopes) <= 4000),
    generation         bigint      NOT NULL DEFAULT 1,
    obtained_at        timestamptz NOT NULL DEFAULT now(),   -- code exchange
    refreshed_at       timestamptz,
    refresh_count      bigint      NOT NULL DEFAULT 0,
    -- Set when the platform refused the refresh token (dead grant): no more refresh attempts
    -- until an administrator reconnects (a new code exchange clears it).
    dead_at            timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- The refresher's scan: what expires soon and can still be refreshed.
CREATE INDEX oauth_tokens_expiring ON oauth_tokens (expires_at)
    WHERE expires_at IS NOT NULL AND dead_at IS NULL;
