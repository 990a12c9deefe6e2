-- sx_int (0014) read an integer through a regular expression on the value's text: about
-- 2.5 us a call, and an imported order makes about 36 of them (its totals, each line's
-- quantity and amounts), so the regex engine was 9.5 % of PostgreSQL's CPU during an order
-- import. The same function without it: a JSON number is read as numeric (an integer of at
-- most 18 digits: scale 0, below 10^18 in magnitude), a JSON string by its characters (an
-- optional '-' then 1 to 18 ASCII digits); anything else is NULL, as before. About 0.5 us a
-- call. test_migrate compares it with the regex over a table of values, edge cases included.
-- Each argument is referenced several times, which PostgreSQL still inlines for the cheap
-- arguments the engine passes (a column, or two -> steps).
CREATE OR REPLACE FUNCTION sx_int(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN
            CASE WHEN scale(v::numeric) = 0 AND abs(v::numeric) < 1000000000000000000
                 THEN v::numeric::bigint END
        WHEN 'string' THEN
            CASE WHEN length(v #>> '{}') - (left(v #>> '{}', 1) = '-')::int BETWEEN 1 AND 18
                      AND ltrim(substr(v #>> '{}', 1 + (left(v #>> '{}', 1) = '-')::int),
                                '0123456789') = ''
                 THEN (v #>> '{}')::bigint END
        END
$$;
