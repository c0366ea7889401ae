-- Each write does only the work its change needs.
--
-- Every step of an appeal ran the whole of the workflow's bookkeeping again: the address and
-- the search text were composed anew even when only the status moved, the history compared
-- every field one by one, the change's announcement read the appeal twice and cleared the
-- stream by testing the clock on every row of it, and saving a call without a recording
-- summed the person's day of recordings. The rules are the same; the work each change does
-- is now what that change needs.

-- As in …21_demo_clock.sql. The derived columns (type, deadlines, organization, address,
-- search text) are computed again only when something they come from changed, or a client
-- tried to write one of them.
create or replace function dialog_appeals_before_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if new.id <> old.id or new.number <> old.number or new.created_by <> old.created_by
        or new.registered_at <> old.registered_at then
        raise exception 'Номер, автора и время регистрации обращения изменить нельзя' using errcode = 'DL009';
    end if;
    -- A client that names the version it read gets the check from the database itself.
    if new.version <> old.version then
        raise exception 'Обращение % изменил другой оператор — обновите карточку', old.number using errcode = 'DL008',
            detail = dialog_conflict_detail(old.id, old.number, old.version),
            hint = format('Вы сохраняли версию %s, а сейчас версия %s.', new.version, old.version);
    end if;
    if new.received_at <> old.received_at then
        perform dialog_check_received(new.received_at, old.registered_at);
    end if;
    new.version := old.version + 1;
    new.updated_at := dialog_now();
    new.updated_by := dialog_actor();
    -- Timestamps of the workflow are the database's to write.
    new.notified_at := old.notified_at;
    new.in_work_at := old.in_work_at;
    new.done_at := old.done_at;
    new.closed_at := old.closed_at;
    if (new.kind_id, new.received_at, new.priority, new.building_id, new.apartment, new.entrance, new.floor,
        new.identifier, new.applicant_name, new.contacts, new.address_note, new.comment,
        new.appeal_type, new.localize_deadline_at, new.deadline_at, new.organization_id, new.address,
        new.search_text)
       is distinct from
       (old.kind_id, old.received_at, old.priority, old.building_id, old.apartment, old.entrance, old.floor,
        old.identifier, old.applicant_name, old.contacts, old.address_note, old.comment,
        old.appeal_type, old.localize_deadline_at, old.deadline_at, old.organization_id, old.address,
        old.search_text) then
        new := dialog_appeal_derive(new);
    end if;
    -- Deadlines and type are fixed at registration; an admin editing the kind's norms later
    -- does not move the clocks of appeals already running.
    if new.kind_id = old.kind_id and new.received_at = old.received_at then
        new.appeal_type := old.appeal_type;
        new.localize_deadline_at := old.localize_deadline_at;
        new.deadline_at := old.deadline_at;
    end if;
    if new.status <> old.status then
        new := dialog_check_transition(old, new);
    end if;
    if (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id) and exists (
        select 1 from appeal_executors ae
        where ae.appeal_id = new.id
          and not (exists (select 1 from executor_kinds where executor_id = ae.executor_id and kind_id = new.kind_id)
               and exists (select 1 from executor_buildings where executor_id = ae.executor_id and building_id = new.building_id))
    ) then
        raise exception 'Назначенный исполнитель не обслуживает новый адрес или вид обращения %', old.number
            using errcode = 'DL005', hint = 'Снимите исполнителя и назначьте подходящего.';
    end if;
    if new.joined_to is not null and new.joined_to is distinct from old.joined_to then
        perform dialog_check_join(new);
    end if;
    if new.joined_to is not null and old.joined_to is not null
        and (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id) then
        raise exception 'Обращение % объединено с другими: сначала отсоедините его', old.number using errcode = 'DL007';
    end if;
    if exists (select 1 from appeals where joined_to = new.id)
        and (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id) then
        raise exception 'К обращению % присоединены другие: сначала отсоедините их', old.number using errcode = 'DL007';
    end if;
    return new;
end
$$;

-- As in …09_boundary.sql. The fields that changed are picked in one query, and an update
-- that changed none of them (a new executor touches only the appeal's version) compares
-- nothing.
create or replace function dialog_appeals_after_change() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    o jsonb;
    n jsonb := dialog_appeal_fields(new);
    b jsonb;
    a jsonb;
    act text := 'changed';
begin
    if tg_op = 'INSERT' then
        insert into appeal_history (appeal_id, action, after) values (new.id, 'created', n);
    else
        o := dialog_appeal_fields(old);
        if o <> n then
            select jsonb_object_agg(f.key, o -> f.key), jsonb_object_agg(f.key, f.value) into b, a
            from jsonb_each(n) f where o -> f.key is distinct from f.value;
            if a ? 'status' then
                act := 'status';
            elsif a ? 'joined_to' and (a - 'joined_to') = '{}' then
                act := case when new.joined_to is null then 'unjoined' else 'joined' end;
            end if;
            insert into appeal_history (appeal_id, action, before, after) values (new.id, act, b, a);
        end if;
    end if;
    perform dialog_announce(new.id, lower(tg_op));
    return null;
end
$$;

-- As in …23_change_channels.sql. The appeal is read once. The stream is cleared of what is
-- older than its retention with the cut-off computed once (it was tested against the clock on
-- every row), and a row another transaction is clearing at the same moment is left to it
-- instead of waited for.
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    a record;
    seq bigint;
    cutoff timestamptz;
    hint text;
begin
    select x.id, x.organization_id, x.version, x.number into a from appeals x where x.id = p_appeal;
    if not found then
        return;
    end if;
    insert into appeal_changes (at, appeal_id, organization_id, op, version)
        values (dialog_clock_timestamp(), a.id, a.organization_id, p_op, a.version)
        returning appeal_changes.seq into seq;
    if seq % 1000 = 0 then
        cutoff := dialog_now() - dialog_change_retention();
        delete from appeal_changes c
        where c.seq in (select s.seq from appeal_changes s where s.at < cutoff for update skip locked);
    end if;
    hint := json_build_object('seq', seq, 'id', a.id, 'number', a.number, 'version', a.version, 'op', p_op)::text;
    perform pg_notify(dialog_change_channel(null), hint);
    if a.organization_id is not null then
        perform pg_notify(dialog_change_channel(a.organization_id), hint);
    end if;
end
$$;

-- As in …21_demo_clock.sql. A call saved without a recording adds nothing to the day's bytes,
-- so it is never refused for them (and does not sum the day's recordings).
create or replace function dialog_check_quota(p_bytes bigint) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    used bigint;
begin
    if coalesce(p_bytes, 0) = 0 then
        return;
    end if;
    select coalesce((select sum(size) from attachments
                     where uploaded_by = dialog_actor() and uploaded_at > dialog_now() - interval '1 day'), 0)
         + coalesce((select sum(octet_length(recording)) from calls
                     where operator_login = dialog_actor() and started_at > dialog_now() - interval '1 day'), 0)
      into used;
    if used + p_bytes > dialog_daily_bytes_limit() then
        raise exception 'За сутки вы сохранили больше % МБ файлов и записей', dialog_daily_bytes_limit() / 1048576
            using errcode = 'DL017', hint = 'Обратитесь к администратору, если это нужно для работы.';
    end if;
end
$$;

-- The small functions the rules ask on every write (who the person is, what the center has set,
-- a building's address, the change channels) are now PL/pgSQL: written in SQL and called from
-- inside another query, each was parsed and planned again at every call, which made them a
-- fifth of a save's time; PL/pgSQL keeps its plans for the session. Same answers as before.

-- As in …21_demo_clock.sql.
create or replace function dialog_my_role() returns staff_role
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select role from staff where login = dialog_actor() and active);
end
$$;

-- As in …21_demo_clock.sql.
create or replace function dialog_my_organization() returns uuid
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select organization_id from staff where login = dialog_actor() and role = 'manager' and active);
end
$$;

-- As in …21_demo_clock.sql.
create or replace function dialog_my_duty() returns service_duty
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select duty from services where login = dialog_actor() and active);
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_is_staff() returns boolean
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return coalesce(dialog_my_role() in ('operator', 'supervisor', 'admin'), false) or dialog_is_owner();
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_is_supervisor() returns boolean
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return coalesce(dialog_my_role() in ('supervisor', 'admin'), false) or dialog_is_owner();
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_is_admin() returns boolean
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return coalesce(dialog_my_role() = 'admin', false) or dialog_is_owner();
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_sees(p_org uuid) returns boolean
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    s uuid := dialog_scope();
begin
    return s is null or p_org = s;
end
$$;

-- As in …10_pbx_witness.sql.
create or replace function dialog_setting(p_key text) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select value from settings where key = p_key);
end
$$;

-- As in …02_appeals.sql.
create or replace function dialog_appeal_address(p_building uuid, p_apartment text, p_entrance text, p_floor text)
returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return coalesce((select b.address from buildings b where b.id = p_building), '')
        || case when p_building is not null and p_apartment <> '' then ', кв. ' || p_apartment else '' end
        || case when p_building is not null and p_entrance <> '' then ', подъезд ' || p_entrance else '' end
        || case when p_building is not null and p_floor <> '' then ', этаж ' || p_floor else '' end;
end
$$;

-- As in …23_change_channels.sql.
create or replace function dialog_change_channel(p_org uuid) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select 'dialog_changes_' || left(md5(s.secret || ':' || coalesce(p_org::text, 'all')), 24)
            from change_channel_secret s limit 1);
end
$$;

-- As in …23_change_channels.sql.
create or replace function dialog_my_change_channel() returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return dialog_change_channel(dialog_scope());
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_changes_head() returns bigint
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select coalesce(max(seq), 0) from appeal_changes);
end
$$;

-- As in …09_boundary.sql. A history line is announced on its own only when it is a comment, a
-- file or a call (the other lines come with the appeal's own change); the trigger now says
-- so, and is not called for the rest.
create or replace function dialog_history_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_announce(new.appeal_id, new.action);
    return null;
end
$$;
drop trigger appeal_history_after_insert on appeal_history;
create trigger appeal_history_after_insert after insert on appeal_history
    for each row when (new.action in ('comment', 'attachment', 'call'))
    execute function dialog_history_after_insert();
