-- A PBX leg's rules kept by the pbx_calls table itself, as a call's are by the calls table
-- (…30_calls_in_sets.sql).
--
-- dialog_pbx_call merged each event of a leg into its row with the rules in its statement: the
-- times are the server's, each written once (no answer after the end), the number fixed once
-- the leg is answered, the SIP Call-ID kept once known, the operator the one whose extension it
-- is; then it linked the operators' recordings with that Call-ID. The table's triggers do all
-- of it now, for every row written, and for many in one statement: a leg inserted or updated
-- with an answer or an end (any value) is stamped with the server's clock, and what the PBX
-- said before stands. The function checks that the PBX's service calls it and which event it
-- is, and writes the event.

create function dialog_pbx_calls_before_write() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    moment timestamptz := dialog_now();
begin
    if tg_op = 'INSERT' then
        new.sip_call_id := nullif(new.sip_call_id, '');
        new.operator_login := null;
        select s.login into new.operator_login from staff s where s.sip_extension = new.extension;
        new.started_at := moment;
        new.answered_at := case when new.answered_at is not null then moment end;
        new.ended_at := case when new.ended_at is not null then moment end;
        return new;
    end if;
    new.id := old.id;
    new.uniqueid := old.uniqueid;
    new.linkedid := old.linkedid;
    new.direction := old.direction;
    new.extension := old.extension;
    new.operator_login := old.operator_login;
    new.started_at := old.started_at;
    new.sip_call_id := coalesce(old.sip_call_id, nullif(new.sip_call_id, ''));
    if old.answered_at is not null then
        new.number := old.number;
    end if;
    new.answered_at := case when old.answered_at is not null or old.ended_at is not null then old.answered_at
                            when new.answered_at is not null then moment end;
    new.ended_at := case when old.ended_at is not null then old.ended_at
                         when new.ended_at is not null then moment end;
    return new;
end
$$;
create trigger pbx_calls_before_write before insert or update on pbx_calls
    for each row execute function dialog_pbx_calls_before_write();

-- The operators' recordings with a leg's SIP Call-ID are linked to it (a recording stored first
-- waits for its leg; one stored later finds it itself, see dialog_calls_before_write).
create function dialog_pbx_calls_link() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
begin
    update calls c set pbx_call_id = n.id
    from new_rows n
    where n.sip_call_id is not null and c.sip_call_id is not null and c.sip_call_id = n.sip_call_id
      and c.pbx_call_id is null;
    return null;
end
$$;
create trigger pbx_calls_after_insert after insert on pbx_calls
    referencing new table as new_rows for each statement
    execute function dialog_pbx_calls_link();
create trigger pbx_calls_after_update after update on pbx_calls
    referencing new table as new_rows for each statement
    execute function dialog_pbx_calls_link();

-- As in …26_statement_history.sql: who may report, and which event; the table's triggers do the
-- rest (an answer or an end is marked by any time, stamped by them).
create or replace function dialog_pbx_call(
    p_event text, p_uniqueid text, p_linkedid text, p_direction call_direction, p_extension text,
    p_number text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
set plan_cache_mode = force_generic_plan
as $$
begin
    perform dialog_require_duty('pbx');
    if p_event not in ('start', 'answer', 'end') then
        raise exception 'Неизвестное событие звонка «%»', p_event using errcode = '22023';
    end if;
    insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, answered_at, ended_at)
        values (p_uniqueid, p_linkedid, p_direction, p_extension, p_number, p_sip_call_id,
                case when p_event = 'answer' then now() end, case when p_event = 'end' then now() end)
    on conflict (uniqueid) do update set
        sip_call_id = excluded.sip_call_id,
        number = excluded.number,
        answered_at = excluded.answered_at,
        ended_at = excluded.ended_at;
end
$$;
