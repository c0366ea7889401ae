-- Searches take turns. However many people search at once, only a few searches of the
-- registry run at the same moment (4, or what the administrator sets with
-- `alter database … set dialog.search_slots = N`, about twice the server's processors); the
-- others queue for a turn without using the processor, at most 10 s, and then run anyway. So a
-- registration — whose legal clock started with the call — always finds a free processor, even
-- under a flood of searches.

create function dialog_search_turn() returns void
language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    setting text := current_setting('dialog.search_slots', true);
    slots integer := case when setting ~ '^[0-9]{1,2}$' then greatest(setting::integer, 1) else 4 end;
    patience text := current_setting('lock_timeout');
begin
    -- A turn is a lock of this transaction: it ends with the search's statement.
    for i in 1..slots loop
        if pg_try_advisory_xact_lock(1685283171, i) then
            return;
        end if;
    end loop;
    perform set_config('lock_timeout', '10s', true);
    begin
        perform pg_advisory_xact_lock(1685283171, 1 + pg_backend_pid() % slots);
    exception when lock_not_available then
        null;
    end;
    perform set_config('lock_timeout', patience, true);
end
$$;

alter function dialog_registry(dialog_filter, text, timestamptz, uuid, integer) rename to dialog_registry_rows;
revoke execute on function dialog_registry_rows(dialog_filter, text, timestamptz, uuid, integer)
    from public, dialog_operator, dialog_manager;
alter function dialog_registry_count(dialog_filter, bigint) rename to dialog_registry_counted;
revoke execute on function dialog_registry_counted(dialog_filter, bigint) from public, dialog_operator, dialog_manager;

create function dialog_registry(
    p_filter dialog_filter, p_sort text, p_after_key timestamptz, p_after_id uuid, p_limit integer
) returns setof dialog_registry_row
language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_search_turn();
    return query select * from dialog_registry_rows(p_filter, p_sort, p_after_key, p_after_id, p_limit);
end
$$;

create function dialog_registry_count(p_filter dialog_filter, p_cap bigint) returns bigint
language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_search_turn();
    return dialog_registry_counted(p_filter, p_cap);
end
$$;

grant execute on function dialog_registry(dialog_filter, text, timestamptz, uuid, integer),
    dialog_registry_count(dialog_filter, bigint) to dialog_operator, dialog_manager;

-- Nobody takes the turns for themselves: the transaction-level advisory locks of two keys
-- (the session-level ones were taken away with the duties' locks) are the owner's alone.
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        revoke execute on function pg_catalog.pg_advisory_xact_lock(integer, integer),
            pg_catalog.pg_try_advisory_xact_lock(integer, integer),
            pg_catalog.pg_advisory_lock_shared(integer, integer), pg_catalog.pg_try_advisory_lock_shared(integer, integer),
            pg_catalog.pg_advisory_xact_lock_shared(integer, integer),
            pg_catalog.pg_try_advisory_xact_lock_shared(integer, integer),
            pg_catalog.pg_advisory_xact_lock_shared(bigint), pg_catalog.pg_try_advisory_xact_lock_shared(bigint)
            from public;
        execute format('grant execute on function pg_catalog.pg_try_advisory_xact_lock(integer, integer),
            pg_catalog.pg_advisory_xact_lock(integer, integer) to %I',
            (select pg_get_userbyid(relowner) from pg_class where oid = 'public.appeals'::regclass));
    else
        raise warning 'A superuser should revoke the advisory-lock functions from public (see the README)';
    end if;
end
$$;
