-- A finished call is kept by the app until the database takes it (crates/core/src/callbook.rs).
-- Its times are still the server's, never the workstation's: a call stored late is dated by the
-- PBX's record of the same leg when the PBX bridge saw it (its clock is the server's), and
-- otherwise by the moment it was stored. A call from the future is refused.

create or replace function dialog_record_call(
    p_id uuid, p_direction call_direction, p_from text, p_to text, p_started_at timestamptz,
    p_answered_at timestamptz, p_ended_at timestamptz, p_appeal uuid, p_executor uuid,
    p_recording bytea, p_codec text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    witness pbx_calls;
    ended timestamptz := now();
    talk interval;
    ring interval;
begin
    perform dialog_require_staff();
    if p_started_at is null or p_ended_at is null or p_ended_at < p_started_at
        or (p_answered_at is not null and (p_answered_at < p_started_at or p_answered_at > p_ended_at)) then
        raise exception 'Время звонка записано неверно' using errcode = 'DL006',
            hint = 'Начало, ответ и конец звонка должны идти по порядку.';
    end if;
    if p_ended_at > now() + interval '1 minute' then
        raise exception 'Время звонка позже текущего времени сервера' using errcode = 'DL006',
            hint = 'Проверьте часы компьютера.';
    end if;
    if exists (select 1 from calls where id = p_id) then
        return;
    end if;
    -- Only a leg of this operator's own extension vouches for the call.
    select p.* into witness from pbx_calls p join staff s on s.sip_extension = p.extension and s.login = session_user
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
            case when p_answered_at is not null then ended - talk end, ended, session_user,
            p_appeal, p_executor, p_recording, p_codec, nullif(p_sip_call_id, ''), witness.id);
    if p_appeal is not null then
        insert into appeal_history (appeal_id, action, after)
            values (p_appeal, 'call', jsonb_build_object('call_id', p_id, 'direction', p_direction,
                'number', case when p_direction = 'исходящий' then p_to else p_from end));
    end if;
end
$$;
