-- The history and the change stream are written once per statement.
--
-- An appeal's history line, its entry in the change stream and the effect of an executor on
-- the appeal were written by row triggers: for every row a statement changed, three or four
-- statements of their own (the history line, the stream, the appeal touched again), each
-- planned, checked and run alone. A statement that changes many appeals at once (a renamed
-- building, the demo city's load, an import) paid that for every row; a person's save, one
-- row, paid it once. The same lines are now written by statement triggers that see the whole
-- statement's rows (its transition tables), in one statement each. The rules and the lines
-- are those of …24_lighter_writes.sql; what changed:
--
-- * Who and when. A history line is stamped with the time and the login of the row it is
--   about: the appeal's `updated_at` / `updated_by` (or its registration's), an executor's
--   `assigned_at` / `assigned_by`. A row stamped with the transaction's own time (a person's
--   save, where every stamp is now()) gets the moment its line is written, as before. A row
--   stamped by the owner's clock (a history loaded afterwards, see …21_demo_clock.sql) keeps
--   its own time: until now the loader had to set the clock back row by row for the row
--   triggers to find it.
-- * The stamps of a history line are still the database's: no role but the owner writes the
--   history, and only the database's own triggers may give a line its time and login; every
--   other writer's line is stamped (dialog_history_before_insert).
-- * Two executors added to one appeal in one statement touch the appeal once, not twice.
-- * A function keeps the plans it made at its session's first call, whatever the size of the
--   statement then. Each of these says which joins it allows (its `set enable_…`), so that
--   the same plan suits a person's one row and a load's ten thousand: appeals are looked up
--   by their key, and a statement's old and new rows are paired by hashing.

-- As in …21_demo_clock.sql. The lines the statement triggers write carry their row's stamps;
-- any other line is stamped here.
create or replace function dialog_history_before_insert() returns trigger
language plpgsql
as $$
begin
    if new.at is null or pg_catalog.pg_trigger_depth() < 2 then
        new.at := public.dialog_clock_timestamp();
    end if;
    if new.actor is null or pg_catalog.pg_trigger_depth() < 2 then
        new.actor := public.dialog_actor();
    end if;
    return new;
end
$$;
alter table appeal_history alter column at drop default, alter column actor drop default;

-- The moment a history line about a row stamped at `p_at` carries: null (the moment the line
-- is written) for a row stamped with the transaction's time, the row's own time for a row the
-- owner's clock stamped.
create function dialog_line_time(p_at timestamptz) returns timestamptz
language sql stable
return case when p_at = now() then null else p_at end;

-- As in …24_lighter_writes.sql, for many appeals at once, in the order given: each change is
-- entered in the stream and announced on the channel of all and on its organization's. Its
-- plan is kept (a plan made for each call's own array cost four times the work of a change),
-- and is one that suits a change or ten thousand: each appeal is looked up by its key.
create function dialog_announce_many(p_appeals uuid[], p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off
set plan_cache_mode = force_generic_plan
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    all_channel text;
    first_seq bigint;
    last_seq bigint;
    cutoff timestamptz;
begin
    if cardinality(p_appeals) = 0 then
        return;
    end if;
    all_channel := dialog_change_channel(null);
    with c as (
        insert into appeal_changes (at, appeal_id, organization_id, op, version)
        select dialog_clock_timestamp(), x.id, x.organization_id, p_op, x.version
        from unnest(p_appeals) with ordinality u(id, i) join appeals x on x.id = u.id
        order by u.i
        returning appeal_changes.seq, appeal_changes.appeal_id, appeal_changes.organization_id,
                  appeal_changes.version
    ), h as (
        select c.seq, c.organization_id,
               json_build_object('seq', c.seq, 'id', c.appeal_id,
                                 'number', (select x.number from appeals x where x.id = c.appeal_id),
                                 'version', c.version, 'op', p_op)::text as hint
        from c
    ), ch as (
        select o.organization_id, dialog_change_channel(o.organization_id) as name
        from (select distinct h.organization_id from h where h.organization_id is not null) o
    ), sent as (
        select h.seq, pg_notify(all_channel, h.hint) as a,
               case when ch.name is not null then pg_notify(ch.name, h.hint) end as o
        from h left join ch on ch.organization_id = h.organization_id
        order by h.seq
    )
    select min(sent.seq), max(sent.seq) into first_seq, last_seq from sent;
    -- The stream is cleared of what is older than its retention every thousand changes.
    if last_seq / 1000 > (first_seq - 1) / 1000 then
        cutoff := dialog_now() - dialog_change_retention();
        delete from appeal_changes c
        where c.seq in (select s.seq from appeal_changes s where s.at < cutoff for update skip locked);
    end if;
end
$$;

-- As in …24_lighter_writes.sql: one change, through the above.
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_announce_many(array[p_appeal], p_op);
end
$$;

-- As in …02_appeals.sql. The fields a history line compares, now PL/pgSQL: written in SQL and
-- called on a whole row (which keeps it from being written into the calling query), it was
-- planned again for every statement that asked it (see …24_lighter_writes.sql).
create or replace function dialog_appeal_fields(a appeals) returns jsonb
language plpgsql immutable
as $$
begin
    return jsonb_build_object(
        'received_at', a.received_at, 'channel', a.channel, 'identifier', a.identifier,
        'applicant_name', a.applicant_name, 'contacts', a.contacts, 'building_id', a.building_id,
        'address', a.address, 'address_note', a.address_note, 'kind_id', a.kind_id,
        'appeal_type', a.appeal_type, 'priority', a.priority, 'status', a.status,
        'comment', a.comment, 'joined_to', a.joined_to, 'deadline_at', a.deadline_at
    );
end
$$;

-- As dialog_appeals_after_change in …24_lighter_writes.sql, for the appeals a statement
-- registered: the «создано» lines, then the changes.
create function dialog_appeals_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
as $$
begin
    insert into appeal_history (appeal_id, action, after, at, actor)
    select n.id, 'created', dialog_appeal_fields(n::appeals), dialog_line_time(n.registered_at), n.created_by
    from new_rows n order by n.registered_at, n.id;
    perform dialog_announce_many(array(select n.id from new_rows n order by n.registered_at, n.id), 'insert');
    return null;
end
$$;

-- As dialog_appeals_after_change in …24_lighter_writes.sql, for the appeals a statement
-- changed: a line for each appeal whose fields changed, with only those fields, then the
-- changes of all (a new executor changes only the appeal's version). The plan made at a
-- session's first statement is kept for all its others, so it must suit one row and ten
-- thousand alike: the old and the new rows are paired by hashing, never by a loop of one over
-- the other.
create function dialog_appeals_after_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = off set enable_hashjoin = on set enable_mergejoin = on
as $$
begin
    with j as materialized (
        select n.id, n.joined_to, n.updated_at, n.updated_by,
               dialog_appeal_fields(o::appeals) as o, dialog_appeal_fields(n::appeals) as n
        from new_rows n join old_rows o on o.id = n.id
    ), d as (
        select j.id, j.joined_to, j.updated_at, j.updated_by, x.before, x.after
        from j cross join lateral (
            select jsonb_object_agg(f.key, j.o -> f.key) as before, jsonb_object_agg(f.key, f.value) as after
            from jsonb_each(j.n) f where j.o -> f.key is distinct from f.value
        ) x
        where j.o <> j.n
    )
    insert into appeal_history (appeal_id, action, before, after, at, actor)
    select d.id,
           case when d.after ? 'status' then 'status'
                when d.after ? 'joined_to' and (d.after - 'joined_to') = '{}' then
                    case when d.joined_to is null then 'unjoined' else 'joined' end
                else 'changed' end,
           d.before, d.after, dialog_line_time(d.updated_at), d.updated_by
    from d order by d.updated_at, d.id;
    perform dialog_announce_many(array(select n.id from new_rows n order by n.updated_at, n.id), 'update');
    return null;
end
$$;

drop trigger appeals_after_change on appeals;
drop function dialog_appeals_after_change();
create trigger appeals_after_insert after insert on appeals
    referencing new table as new_rows
    for each statement execute function dialog_appeals_after_insert();
create trigger appeals_after_update after update on appeals
    referencing old table as old_rows new table as new_rows
    for each statement execute function dialog_appeals_after_update();

-- As dialog_appeal_executors_change in …02_appeals.sql, for the executors a statement
-- assigned: the same checks (the first row that breaks one, in the order of assignment, is
-- named), a line for each, and each appeal touched once. Its plans, kept for the session, look
-- each appeal and executor up by its key, whether the statement added one row or thousands.
create function dialog_appeal_executors_added() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select a.number into r
    from new_rows n join appeals a on a.id = n.appeal_id
    where a.building_id is null order by n.assigned_at limit 1;
    if found then
        raise exception 'Чтобы назначить исполнителя, укажите адрес обращения %', r.number using errcode = 'DL002';
    end if;
    select e.full_name into r
    from new_rows n join executors e on e.id = n.executor_id
    where not e.active order by n.assigned_at limit 1;
    if found then
        raise exception 'Исполнитель % не работает', r.full_name using errcode = 'DL005',
            hint = 'Выберите другого исполнителя.';
    end if;
    select e.full_name, a.address into r
    from new_rows n join appeals a on a.id = n.appeal_id join executors e on e.id = n.executor_id
    where not exists (select 1 from executor_kinds k where k.executor_id = e.id and k.kind_id = a.kind_id)
       or not exists (select 1 from executor_buildings b where b.executor_id = e.id and b.building_id = a.building_id)
    order by n.assigned_at limit 1;
    if found then
        raise exception 'Исполнитель % не обслуживает этот вид обращения по адресу %', r.full_name, r.address
            using errcode = 'DL005', hint = 'Выберите исполнителя из списка обслуживающих этот адрес.';
    end if;
    select a.number into r
    from new_rows n join appeals a on a.id = n.appeal_id
    where a.status not in ('новый', 'назначено', 'в работе') order by n.assigned_at limit 1;
    if found then
        raise exception 'Обращение % уже отработано: исполнителя не назначить', r.number using errcode = 'DL001';
    end if;
    insert into appeal_history (appeal_id, action, after, at, actor)
    select n.appeal_id, 'assigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name),
           n.assigned_at, n.assigned_by
    from new_rows n join executors e on e.id = n.executor_id
    order by n.assigned_at, n.appeal_id, n.executor_id;
    update appeals set updated_at = now() where id = any(array(select n.appeal_id from new_rows n));
    return null;
end
$$;

-- As dialog_appeal_executors_change in …02_appeals.sql, for the executors a statement took off.
create function dialog_appeal_executors_removed() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select a.number, a.status into r
    from appeals a
    where a.id in (select o.appeal_id from old_rows o) and a.status in ('назначено', 'в работе')
      and not exists (select 1 from appeal_executors x where x.appeal_id = a.id)
    order by a.number limit 1;
    if found then
        raise exception 'Нельзя снять последнего исполнителя с обращения % в статусе «%»', r.number, r.status
            using errcode = 'DL002', hint = 'Сначала назначьте другого исполнителя или верните статус «новый».';
    end if;
    insert into appeal_history (appeal_id, action, before)
    select o.appeal_id, 'unassigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name)
    from old_rows o join executors e on e.id = o.executor_id
    order by o.appeal_id, o.executor_id;
    update appeals set updated_at = now() where id = any(array(select o.appeal_id from old_rows o));
    return null;
end
$$;

drop trigger appeal_executors_change on appeal_executors;
drop function dialog_appeal_executors_change();
create trigger appeal_executors_added after insert on appeal_executors
    referencing new table as new_rows
    for each statement execute function dialog_appeal_executors_added();
create trigger appeal_executors_removed after delete on appeal_executors
    referencing old table as old_rows
    for each statement execute function dialog_appeal_executors_removed();

-- As in …24_lighter_writes.sql. Who saves and since when are asked once: written into the
-- query, the owner's clock was asked again for every recording of the day it summed (3,000
-- times for one call of a busy operator's day).
create or replace function dialog_check_quota(p_bytes bigint) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    used bigint;
    who text;
    since timestamptz;
begin
    if coalesce(p_bytes, 0) = 0 then
        return;
    end if;
    who := dialog_actor();
    since := dialog_now() - interval '1 day';
    select coalesce((select sum(size) from attachments where uploaded_by = who and uploaded_at > since), 0)
         + coalesce((select sum(octet_length(recording)) from calls where operator_login = who and started_at > since), 0)
      into used;
    if used + p_bytes > dialog_daily_bytes_limit() then
        raise exception 'За сутки вы сохранили больше % МБ файлов и записей', dialog_daily_bytes_limit() / 1048576
            using errcode = 'DL017', hint = 'Обратитесь к администратору, если это нужно для работы.';
    end if;
end
$$;

-- As in …01_directories.sql, the same text four times faster. Translating every capital
-- letter of the alphabet one by one was three quarters of the work; where the database's
-- lower() already knows the Cyrillic capitals (every UTF-8 locale does), only «ё» is left to
-- translate, and the text comes out the same.
create or replace function dialog_norm(t text) returns text
language sql immutable parallel safe
return ' ' || btrim(regexp_replace(
    case when lower('АЯЁ') = 'аяё' then translate(lower(coalesce(t, '')), 'ё', 'е')
         else translate(lower(coalesce(t, '')),
                        'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯё',
                        'абвгдеежзийклмнопрстуфхцчшщъыьэюяе') end,
    '[^0-9a-zа-я]+', ' ', 'g')) || ' ';

-- As in …21_demo_clock.sql. An answer or an end is written with the call in one statement:
-- it was a second write of the same row.
create or replace function dialog_pbx_call(
    p_event text, p_uniqueid text, p_linkedid text, p_direction call_direction, p_extension text,
    p_number text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    c pbx_calls;
    moment timestamptz := dialog_now();
begin
    perform dialog_require_duty('pbx');
    if p_event not in ('start', 'answer', 'end') then
        raise exception 'Неизвестное событие звонка «%»', p_event using errcode = '22023';
    end if;
    insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, operator_login, started_at,
                           answered_at, ended_at)
        values (p_uniqueid, p_linkedid, p_direction, p_extension, p_number, nullif(p_sip_call_id, ''),
                (select login from staff where sip_extension = p_extension), moment,
                case when p_event = 'answer' then moment end, case when p_event = 'end' then moment end)
    on conflict (uniqueid) do update set
        sip_call_id = coalesce(pbx_calls.sip_call_id, excluded.sip_call_id),
        number = case when pbx_calls.answered_at is null then excluded.number else pbx_calls.number end,
        answered_at = case when p_event = 'answer' and pbx_calls.answered_at is null and pbx_calls.ended_at is null
                           then moment else pbx_calls.answered_at end,
        ended_at = case when p_event = 'end' and pbx_calls.ended_at is null then moment else pbx_calls.ended_at end
    returning * into c;
    if c.sip_call_id is not null then
        update calls set pbx_call_id = c.id where sip_call_id = c.sip_call_id and pbx_call_id is null;
    end if;
end
$$;

-- As in …24_lighter_writes.sql. Whether other appeals are joined to this one is asked only when
-- its kind or its building changes, the one case where the answer matters: it was asked first,
-- at every step of every appeal.
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
    if (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id)
        and exists (select 1 from appeals where joined_to = new.id) then
        raise exception 'К обращению % присоединены другие: сначала отсоедините их', old.number using errcode = 'DL007';
    end if;
    return new;
end
$$;
