-- A call's rules kept by the calls table itself, and a statement's lines of history announced
-- together.
--
-- Recording a call did its work in dialog_record_call: the phone's times checked and anchored
-- to the server's clock (or to the PBX's, when its leg vouches for the call), the day's quota,
-- the PBX's leg linked, and a line in the appeal's history. The calls table's own trigger does
-- all of it now, for every row written, so that the rules hold for whoever writes the table,
-- and for many calls in one statement: the function checks who may record and that the call is
-- not stored already, and inserts the row. The history lines of a statement's calls are written
-- by one statement of its trigger (the time of each is its call's end, as the server saw it;
-- the person, the operator who recorded it).
--
-- A comment, a file or a call was announced by a trigger on every line of history; the lines
-- one statement writes are now announced by one statement (dialog_announce_many), a line
-- alone as before. The change stream's channel is named in one place,
-- dialog_change_channel_name, and dialog_announce reads the secret and the appeal at once.

-- The name of the channel of those who see the appeals of organization `p_org` (null: every
-- appeal), from the channels' secret.
create function dialog_change_channel_name(p_secret text, p_org uuid) returns text
language sql immutable
return 'dialog_changes_' || left(md5(p_secret || ':' || coalesce(p_org::text, 'all')), 24);
revoke all on function dialog_change_channel_name(text, uuid) from public;

-- As in …24_lighter_writes.sql, named by the above.
create or replace function dialog_change_channel(p_org uuid) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return (select dialog_change_channel_name(s.secret, p_org) from change_channel_secret s limit 1);
end
$$;

-- As in …29_steady_plans.sql, the appeal and both channels read by one query.
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    a record;
    seq bigint;
    hint text;
begin
    select x.id, x.organization_id, x.version, x.number,
           dialog_change_channel_name(s.secret, null) as all_channel,
           case when x.organization_id is not null then dialog_change_channel_name(s.secret, x.organization_id) end
               as organization_channel
      into a
    from appeals x
    left join lateral (select c.secret from change_channel_secret c limit 1) s on true
    where x.id = p_appeal;
    if not found then
        return;
    end if;
    insert into appeal_changes (at, appeal_id, organization_id, op, version)
        values (dialog_clock_timestamp(), a.id, a.organization_id, p_op, a.version)
        returning appeal_changes.seq into seq;
    if seq % 1000 = 0 then
        perform dialog_clear_changes();
    end if;
    hint := json_build_object('seq', seq, 'id', a.id, 'number', a.number, 'version', a.version, 'op', p_op)::text;
    perform pg_notify(a.all_channel, hint);
    if a.organization_channel is not null then
        perform pg_notify(a.organization_channel, hint);
    end if;
end
$$;

-- As in …24_lighter_writes.sql: comments, files and calls are announced, each line a change in
-- the order of the lines, now by one statement for all the lines a statement wrote.
create or replace function dialog_history_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    op text;
begin
    for op in select distinct n.action from new_rows n where n.action in ('comment', 'attachment', 'call') loop
        perform dialog_announce_many(array(select n.appeal_id from new_rows n where n.action = op order by n.id), op);
    end loop;
    return null;
end
$$;
drop trigger appeal_history_after_insert on appeal_history;
create trigger appeal_history_after_insert after insert on appeal_history
    referencing new table as new_rows for each statement
    execute function dialog_history_after_insert();

-- As in …27_cheaper_writes.sql, with the rules of a call recorded, moved here from
-- dialog_record_call (…27): the call is the acting person's; its times are the phone's
-- durations ending when the server stores it, or when the PBX saw the operator's leg end if a
-- leg of the operator's own extension with the call's SIP Call-ID vouches for it; its recording
-- counts against the day's quota.
create or replace function dialog_calls_before_write() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    org uuid;
    witness uuid;
    ended timestamptz;
    ring interval;
    talk interval;
begin
    if tg_op = 'INSERT' then
        new.operator_login := dialog_actor();
        new.sip_call_id := nullif(new.sip_call_id, '');
        if new.started_at is null or new.ended_at is null or new.ended_at < new.started_at
            or (new.answered_at is not null and (new.answered_at < new.started_at or new.answered_at > new.ended_at)) then
            raise exception 'Время звонка записано неверно' using errcode = 'DL006',
                hint = 'Начало, ответ и конец звонка должны идти по порядку.';
        end if;
        if new.ended_at > dialog_now() + interval '1 minute' then
            raise exception 'Время звонка позже текущего времени сервера' using errcode = 'DL006',
                hint = 'Проверьте часы компьютера.';
        end if;
        ended := dialog_now();
        if new.sip_call_id is not null then
            select p.id, coalesce(p.ended_at, ended) into witness, ended
            from pbx_calls p join staff s on s.sip_extension = p.extension and s.login = new.operator_login
            where p.sip_call_id = new.sip_call_id limit 1;
            ended := coalesce(ended, dialog_now());
        end if;
        new.pbx_call_id := witness;
        -- The phone's times give only the durations.
        ring := least(coalesce(new.answered_at, new.ended_at) - new.started_at, interval '1 day');
        talk := least(new.ended_at - coalesce(new.answered_at, new.ended_at), interval '1 day');
        new.started_at := ended - talk - ring;
        new.answered_at := case when new.answered_at is not null then ended - talk end;
        new.ended_at := ended;
        if new.recording is not null then
            perform dialog_check_quota(octet_length(new.recording));
        end if;
    end if;
    select a.organization_id into org from appeals a where a.id = new.appeal_id;
    if org is null then
        select e.organization_id into org from executors e where e.id = new.executor_id;
    end if;
    new.organization_id := org;
    return new;
end
$$;

-- A line in the history of each call's appeal, at the call's end, by the operator.
create function dialog_calls_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    insert into appeal_history (appeal_id, action, after, at, actor)
    select n.appeal_id, 'call',
           jsonb_build_object('call_id', n.id, 'direction', n.direction,
                              'number', case when n.direction = 'исходящий' then n.to_number else n.from_number end),
           dialog_line_time(n.ended_at), n.operator_login
    from new_rows n
    where n.appeal_id is not null
    order by n.ended_at, n.id;
    return null;
end
$$;
create trigger calls_after_insert after insert on calls
    referencing new table as new_rows for each statement
    execute function dialog_calls_after_insert();

-- As in …27_cheaper_writes.sql: who may record a call, and a call stored once; the table's
-- trigger does the rest.
create or replace function dialog_record_call(
    p_id uuid, p_direction call_direction, p_from text, p_to text, p_started_at timestamptz,
    p_answered_at timestamptz, p_ended_at timestamptz, p_appeal uuid, p_executor uuid,
    p_recording bytea, p_codec text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
set plan_cache_mode = force_generic_plan
as $$
begin
    perform dialog_require_staff();
    if exists (select 1 from calls where id = p_id) then
        return;
    end if;
    insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at, appeal_id,
                       executor_id, recording, recording_codec, sip_call_id)
    values (p_id, p_direction, p_from, p_to, p_started_at, p_answered_at, p_ended_at, p_appeal, p_executor,
            p_recording, p_codec, p_sip_call_id);
end
$$;
