-- Less work in every write of an appeal, whether a person's one row or a load's ten thousand.
--
-- What each save costs was measured on a database of a million appeals: a step of the
-- workflow over 10,000 appeals, and 8,000 calls recorded one by one as the app records them.
-- The rules and the lines written are those of …26_statement_history.sql; what changed:
--
-- * One change is announced by four plain statements again (dialog_announce as in
--   …24_lighter_writes.sql). Sent through the statement built for many (…26), one change
--   cost 65 µs more: a call recorded, a comment, a person's save. Many changes still go
--   through that statement.
-- * The fields a history line compares are named once, below, and both functions that read
--   them are built from that list: dialog_appeal_fields (the whole appeal, for its «создано»
--   line) and dialog_appeal_diff (what a change changed). The diff compares the fields
--   themselves instead of two whole appeals turned into JSON and compared key by key, which
--   was a third of a changed appeal's cost, and nothing at all for an appeal whose fields did
--   not change (a new executor touches only the appeal's version).
-- * What the rules look up at every step of every appeal (who acts, the channels' names, the
--   building's address and organization, a call's organization) is read with `select … into`,
--   whose plan PL/pgSQL keeps for the session, instead of a subquery in an expression, run as
--   a new query at each call.

do $generate$
declare
    -- The fields of an appeal its history tracks, in the order a line lists them.
    fields constant text[] := array[
        'received_at', 'channel', 'identifier', 'applicant_name', 'contacts', 'building_id', 'address',
        'address_note', 'kind_id', 'appeal_type', 'priority', 'status', 'comment', 'joined_to', 'deadline_at'];
begin
    -- As in …26_statement_history.sql: the appeal's tracked fields, for its «создано» line.
    execute format($f$
        create or replace function dialog_appeal_fields(a appeals) returns jsonb
        language plpgsql immutable
        as $$
        begin
            return jsonb_build_object(%s);
        end
        $$ $f$,
        (select string_agg(format('%L, a.%I', f, f), ', ' order by i) from unnest(fields) with ordinality u(f, i)));
    -- What a change changed: the tracked fields that differ, before and after; null for both
    -- when none does.
    execute format($f$
        create function dialog_appeal_diff(o appeals, n appeals, out before jsonb, out after jsonb)
        language plpgsql immutable
        as $$
        declare
            b jsonb := '{}';
            a jsonb := '{}';
        begin
            %s
            if a <> '{}' then
                before := b;
                after := a;
            end if;
        end
        $$ $f$,
        (select string_agg(format('if o.%1$I is distinct from n.%1$I then
                b := b || jsonb_build_object(%2$L, o.%1$I);
                a := a || jsonb_build_object(%2$L, n.%1$I);
            end if;', f, f), E'\n            ' order by i)
         from unnest(fields) with ordinality u(f, i)));
end
$generate$;

-- As in …26_statement_history.sql, the diff from dialog_appeal_diff.
create or replace function dialog_appeals_after_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = off set enable_hashjoin = on set enable_mergejoin = on
as $$
begin
    insert into appeal_history (appeal_id, action, before, after, at, actor)
    select n.id,
           case when d.after ? 'status' then 'status'
                when d.after ? 'joined_to' and (d.after - 'joined_to') = '{}' then
                    case when n.joined_to is null then 'unjoined' else 'joined' end
                else 'changed' end,
           d.before, d.after, dialog_line_time(n.updated_at), n.updated_by
    from new_rows n join old_rows o on o.id = n.id
    cross join lateral dialog_appeal_diff(o::appeals, n::appeals) d
    where d.after is not null
    order by n.updated_at, n.id;
    perform dialog_announce_many(array(select n.id from new_rows n order by n.updated_at, n.id), 'update');
    return null;
end
$$;

-- As in …24_lighter_writes.sql: one change, in plain statements.
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

-- As in …26_statement_history.sql; one change goes to dialog_announce.
create or replace function dialog_announce_many(p_appeals uuid[], p_op text) returns void
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
    if cardinality(p_appeals) = 1 then
        perform dialog_announce(p_appeals[1], p_op);
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

-- As in …24_lighter_writes.sql, read with `select … into`.
create or replace function dialog_change_channel(p_org uuid) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    name text;
begin
    select 'dialog_changes_' || left(md5(s.secret || ':' || coalesce(p_org::text, 'all')), 24) into name
    from change_channel_secret s limit 1;
    return name;
end
$$;

-- As in …24_lighter_writes.sql, read with `select … into`, the login that acts asked once (a
-- table of a few rows is scanned, and the question was asked again for every row).
create or replace function dialog_my_role() returns staff_role
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    r staff_role;
    who text := dialog_actor();
begin
    select s.role into r from staff s where s.login = who and s.active;
    return r;
end
$$;

-- As dialog_my_role.
create or replace function dialog_my_organization() returns uuid
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    o uuid;
    who text := dialog_actor();
begin
    select s.organization_id into o from staff s where s.login = who and s.role = 'manager' and s.active;
    return o;
end
$$;

-- As dialog_my_role.
create or replace function dialog_my_duty() returns service_duty
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    d service_duty;
    who text := dialog_actor();
begin
    select s.duty into d from services s where s.login = who and s.active;
    return d;
end
$$;

-- As in …21_demo_clock.sql, the login that acts asked once: the witness's operator was found by
-- a scan of the staff that asked it again for every row.
create or replace function dialog_record_call(
    p_id uuid, p_direction call_direction, p_from text, p_to text, p_started_at timestamptz,
    p_answered_at timestamptz, p_ended_at timestamptz, p_appeal uuid, p_executor uuid,
    p_recording bytea, p_codec text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    witness pbx_calls;
    ended timestamptz := dialog_now();
    who text := dialog_actor();
    talk interval;
    ring interval;
begin
    perform dialog_require_staff();
    if p_started_at is null or p_ended_at is null or p_ended_at < p_started_at
        or (p_answered_at is not null and (p_answered_at < p_started_at or p_answered_at > p_ended_at)) then
        raise exception 'Время звонка записано неверно' using errcode = 'DL006',
            hint = 'Начало, ответ и конец звонка должны идти по порядку.';
    end if;
    if p_ended_at > dialog_now() + interval '1 minute' then
        raise exception 'Время звонка позже текущего времени сервера' using errcode = 'DL006',
            hint = 'Проверьте часы компьютера.';
    end if;
    if exists (select 1 from calls where id = p_id) then
        return;
    end if;
    -- Only a leg of this operator's own extension vouches for the call.
    select p.* into witness from pbx_calls p join staff s on s.sip_extension = p.extension and s.login = who
        where p.sip_call_id = nullif(p_sip_call_id, '') limit 1;
    if witness.id is not null and witness.ended_at is not null then
        ended := witness.ended_at;
    end if;
    -- The phone's times give only the durations.
    ring := least(coalesce(p_answered_at, p_ended_at) - p_started_at, interval '1 day');
    talk := least(p_ended_at - coalesce(p_answered_at, p_ended_at), interval '1 day');
    perform dialog_check_quota(coalesce(octet_length(p_recording), 0));
    insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at, operator_login,
                       appeal_id, executor_id, recording, recording_codec, sip_call_id, pbx_call_id)
    values (p_id, p_direction, p_from, p_to, ended - talk - ring,
            case when p_answered_at is not null then ended - talk end, ended, who,
            p_appeal, p_executor, p_recording, p_codec, nullif(p_sip_call_id, ''), witness.id);
    if p_appeal is not null then
        insert into appeal_history (appeal_id, action, after)
            values (p_appeal, 'call', jsonb_build_object('call_id', p_id, 'direction', p_direction,
                'number', case when p_direction = 'исходящий' then p_to else p_from end));
    end if;
end
$$;

-- A call recorded and a PBX event keep one plan for the session: each looks its rows up by
-- key, so one plan suits every call, and no call pays for planning its statements again, as a
-- session left to choose may do whenever the statistics of the growing tables change.
alter function dialog_record_call(uuid, call_direction, text, text, timestamptz, timestamptz, timestamptz, uuid, uuid,
                                  bytea, text, text)
    set plan_cache_mode = force_generic_plan;
alter function dialog_pbx_call(text, text, text, call_direction, text, text, text)
    set plan_cache_mode = force_generic_plan;

-- As in …02_appeals.sql, the kind and the building's organization read with `select … into`.
create or replace function dialog_appeal_derive(a appeals) returns appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    k appeal_kinds;
    org uuid;
begin
    select * into k from appeal_kinds where id = a.kind_id;
    if not found then
        raise exception 'Вид обращения не найден' using errcode = 'DL010', hint = 'Выберите вид обращения из справочника.';
    end if;
    select b.organization_id into org from buildings b where b.id = a.building_id;
    a.appeal_type := k.appeal_type;
    a.priority := coalesce(a.priority, k.default_priority);
    a.localize_deadline_at := a.received_at + make_interval(mins => k.localize_minutes);
    a.deadline_at := a.received_at + make_interval(mins => k.resolve_minutes);
    a.organization_id := org;
    a.address := dialog_appeal_address(a.building_id, a.apartment, a.entrance, a.floor);
    a.search_text := dialog_appeal_search_text(a.number, a.identifier, a.applicant_name, a.contacts, a.address,
        a.address_note, k.name, a.comment);
    return a;
end
$$;

-- As in …24_lighter_writes.sql, the building's address read with `select … into`.
create or replace function dialog_appeal_address(p_building uuid, p_apartment text, p_entrance text, p_floor text)
returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    address text;
begin
    select b.address into address from buildings b where b.id = p_building;
    return coalesce(address, '')
        || case when p_building is not null and p_apartment <> '' then ', кв. ' || p_apartment else '' end
        || case when p_building is not null and p_entrance <> '' then ', подъезд ' || p_entrance else '' end
        || case when p_building is not null and p_floor <> '' then ', этаж ' || p_floor else '' end;
end
$$;

-- As in …09_boundary.sql, read with `select … into`: the appeal's organization, or else the
-- executor's.
create or replace function dialog_calls_before_write() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    org uuid;
begin
    select a.organization_id into org from appeals a where a.id = new.appeal_id;
    if org is null then
        select e.organization_id into org from executors e where e.id = new.executor_id;
    end if;
    new.organization_id := org;
    return new;
end
$$;
