-- Row-level security keeps a query's own conditions from running before the policies unless
-- the functions behind them are LEAKPROOF. LIKE (textlike) is not marked so, and then the
-- planner cannot walk the registry's (received_at) index with a quick-search filter: a common
-- surname costs ~100 ms instead of ~10 ms at a million appeals. textlike raises no error that
-- could reveal a row, so it is declared leakproof here. Only a superuser may do that; run by
-- another owner, this migration leaves it and says so (ask the DBA to run the statement).
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        alter function pg_catalog.textlike(text, text) leakproof;
    else
        raise notice 'Quick search stays slower: a superuser should run: alter function pg_catalog.textlike(text, text) leakproof';
    end if;
end
$$;
