-- The PBX is the witness of calls. The rule that an appeal moves to «в работе» only after a
-- conversation with its executor rests on evidence; an operator's own app cannot be that
-- evidence, since it is written by the party the rule checks. The calls the PBX carried reach
-- the database from Dialog's server program (dialog-server's pbx duty, over Asterisk's AMI)
-- under a service login no person holds, and the rule trusts only those. The same duty
-- publishes the PBX's queue (callers waiting, the longest wait, agents).

---------------------------------------------------------------------------------------------
-- Services: logins of dialog-server, one per duty. Like a person, a service is who its active
-- row in this database says; the group role only lets it call its functions.

create type service_duty as enum ('pbx', 'mail');

create table services (
    login text primary key,
    duty service_duty not null,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    constraint services_login_check check (login ~ '^[a-z][a-z0-9_.-]{2,62}$')
);
alter table services enable row level security;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'dialog_service') then
        create role dialog_service nologin;
    end if;
exception when duplicate_object or unique_violation then null;
end
$$;
grant usage on schema public to dialog_service;

create function dialog_my_duty() returns service_duty
language sql stable security definer set search_path = public, pg_temp
return (select duty from services where login = session_user and active);

create function dialog_require_duty(p_duty service_duty) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if dialog_my_duty() is distinct from p_duty then
        raise exception 'Это делает только служба «%» сервера Диалога', p_duty using errcode = '42501';
    end if;
end
$$;

-- An admin makes a service login (its password arrives as a SCRAM verifier, as a person's).
create function dialog_create_service(p_login text, p_verifier text, p_duty service_duty) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    perform dialog_check_verifier(p_verifier);
    if p_login !~ '^[a-z][a-z0-9_.-]{2,62}$' then
        raise exception 'Имя службы «%» не подходит', p_login using errcode = 'DL012',
            hint = 'Латинские строчные буквы, цифры, точки, дефисы и подчёркивания, от 3 символов.';
    end if;
    if exists (select 1 from pg_roles where rolname = p_login) then
        raise exception 'Имя «%» уже занято', p_login using errcode = 'DL013';
    end if;
    insert into services (login, duty) values (p_login, p_duty);
    execute format('create role %I login password %L in role dialog_service connection limit 4', p_login, p_verifier);
    execute format('grant connect on database %I to %I', current_database(), p_login);
end
$$;

create function dialog_set_service_active(p_login text, p_active boolean) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    update services set active = p_active where login = p_login;
    if not found then
        raise exception 'Служба «%» не найдена', p_login using errcode = 'DL015';
    end if;
    execute format('%s connect on database %I %s %I', case when p_active then 'grant' else 'revoke' end,
        current_database(), case when p_active then 'to' else 'from' end, p_login);
    execute format('alter role %I %s', p_login, case when p_active then 'login' else 'nologin' end);
    if not p_active then
        perform pg_terminate_backend(pid) from pg_stat_activity where usename = p_login;
    end if;
end
$$;

---------------------------------------------------------------------------------------------
-- Settings an admin chooses.

create table settings (
    key text primary key,
    value text not null,
    updated_at timestamptz not null default now(),
    updated_by text not null default session_user
);
alter table settings enable row level security;

-- What counts as the conversation with an executor that lets an appeal move to «в работе»:
-- 'pbx' (the default): only a call the PBX carried and dialog-server recorded; 'app': the
-- operator's app's own recording, for a center without the PBX bridge, which then trusts its
-- operators (the README says so).
insert into settings (key, value) values ('call_evidence', 'pbx');
alter table settings add constraint settings_value_check check (key <> 'call_evidence' or value in ('pbx', 'app'));

create function dialog_setting(p_key text) returns text
language sql stable security definer set search_path = public, pg_temp
return (select value from settings where key = p_key);

create function dialog_set_setting(p_key text, p_value text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    update settings set value = p_value, updated_at = now(), updated_by = session_user where key = p_key;
    if not found then
        raise exception 'Настройки «%» нет', p_key using errcode = 'DL015';
    end if;
end
$$;

---------------------------------------------------------------------------------------------
-- The calls the PBX carried: one row per operator's leg, as the bridge sees it start, be
-- answered and end (the server's clock at each event).

create table pbx_calls (
    id uuid primary key default gen_random_uuid(),
    -- Asterisk's id of the operator's channel, and of the whole call.
    uniqueid text not null,
    linkedid text not null,
    direction call_direction not null,
    -- The operator's extension, and who was on the other end (E.164 for a phone).
    extension text not null,
    number text not null,
    -- SIP Call-ID of the operator's leg: the app's recording of the call names it too.
    sip_call_id text,
    operator_login text,
    started_at timestamptz not null default now(),
    answered_at timestamptz,
    ended_at timestamptz,
    constraint pbx_calls_uniqueid_key unique (uniqueid),
    constraint pbx_calls_times_check check (
        (answered_at is null or answered_at >= started_at) and (ended_at is null or ended_at >= started_at)
    ),
    constraint pbx_calls_text_check check (length(uniqueid) <= 150 and length(linkedid) <= 150
        and length(extension) <= 40 and length(number) <= 40 and length(coalesce(sip_call_id, '')) <= 300)
);
create index pbx_calls_number_idx on pbx_calls (number, started_at) where direction = 'исходящий' and answered_at is not null;
create index pbx_calls_call_id_idx on pbx_calls (sip_call_id) where sip_call_id is not null;
create index pbx_calls_started_idx on pbx_calls (started_at desc);
alter table pbx_calls enable row level security;
create policy pbx_calls_staff on pbx_calls for select to dialog_operator using ((select dialog_is_staff()));
grant select on pbx_calls to dialog_operator;

-- The app's recording of a call names the SIP Call-ID of its leg; the two rows meet on it,
-- whichever is stored first.
alter table calls add column sip_call_id text;
alter table calls add column pbx_call_id uuid constraint calls_pbx_call_fkey references pbx_calls;
alter table calls add constraint calls_sip_call_id_check check (length(coalesce(sip_call_id, '')) <= 300);
create index calls_sip_call_id_idx on calls (sip_call_id) where sip_call_id is not null;

-- What the pbx duty reports: `p_event` is 'start', 'answer' or 'end' of the operator's leg
-- `p_uniqueid`. Repeated reports change nothing (the bridge may report again after a
-- restart of either side).
create function dialog_pbx_call(
    p_event text, p_uniqueid text, p_linkedid text, p_direction call_direction, p_extension text,
    p_number text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    c pbx_calls;
begin
    perform dialog_require_duty('pbx');
    if p_event not in ('start', 'answer', 'end') then
        raise exception 'Неизвестное событие звонка «%»', p_event using errcode = '22023';
    end if;
    insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, operator_login)
        values (p_uniqueid, p_linkedid, p_direction, p_extension, p_number, nullif(p_sip_call_id, ''),
                (select login from staff where sip_extension = p_extension))
    on conflict (uniqueid) do update set
        sip_call_id = coalesce(pbx_calls.sip_call_id, excluded.sip_call_id),
        number = case when pbx_calls.answered_at is null then excluded.number else pbx_calls.number end
    returning * into c;
    if p_event = 'answer' and c.answered_at is null and c.ended_at is null then
        update pbx_calls set answered_at = now() where id = c.id;
    elsif p_event = 'end' and c.ended_at is null then
        update pbx_calls set ended_at = now() where id = c.id;
    end if;
    if c.sip_call_id is not null then
        update calls set pbx_call_id = c.id where sip_call_id = c.sip_call_id and pbx_call_id is null;
    end if;
end
$$;

-- When an executor of an appeal was told: the first outgoing call to one of their numbers,
-- answered, since they were assigned — as the PBX recorded it (or, where an admin chose so,
-- as an operator's app recorded it). The one definition of «оповещён».
create or replace function dialog_executor_notified_at(p_appeal uuid, p_executor uuid, p_assigned timestamptz)
returns timestamptz
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if dialog_setting('call_evidence') = 'app' then
        return (
            select min(c.started_at) from calls c
            where c.executor_id = p_executor and c.direction = 'исходящий'
              and c.started_at >= p_assigned and c.answered_at is not null and c.recording is not null
              and (c.appeal_id is null or c.appeal_id = p_appeal)
        );
    end if;
    return (
        select min(p.started_at) from pbx_calls p, executors e
        where e.id = p_executor and p.number = any(e.phones)
          and p.direction = 'исходящий' and p.answered_at is not null and p.started_at >= p_assigned
    );
end
$$;

-- The message of the rule says what evidence it wants.
create or replace function dialog_check_transition(old appeals, new appeals) returns appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    f appeal_status := old.status;
    t appeal_status := new.status;
    call_at timestamptz;
begin
    if not (
        (f = 'новый' and t in ('назначено', 'отменено'))
        or (f = 'новый' and t = 'отработано' and new.appeal_type = 'справка')
        or (f = 'назначено' and t in ('новый', 'в работе', 'отменено'))
        or (f = 'в работе' and t in ('назначено', 'отработано'))
        or (f = 'отработано' and t in ('в работе', 'закрыто'))
        or (f = 'закрыто' and t = 'в работе')
        or (f = 'отменено' and t = 'новый')
    ) then
        raise exception 'Нельзя перевести обращение % из статуса «%» в «%»', old.number, f, t using errcode = 'DL001',
            hint = 'Порядок статусов: новый → назначено → в работе → отработано → закрыто.';
    end if;
    if (t = 'закрыто' or f in ('закрыто', 'отменено')) and not dialog_is_supervisor() then
        raise exception 'Закрывать и возобновлять обращения может только старший диспетчер' using errcode = 'DL004',
            hint = format('Попросите старшего диспетчера закрыть или возобновить обращение %s.', old.number);
    end if;
    if t in ('назначено', 'в работе') and not exists (select 1 from appeal_executors where appeal_id = new.id) then
        raise exception 'Обращению % не назначен исполнитель', old.number using errcode = 'DL002',
            hint = 'Укажите адрес и вид обращения, затем выберите исполнителя.';
    end if;
    if t = 'в работе' then
        select min(dialog_executor_notified_at(ae.appeal_id, ae.executor_id, ae.assigned_at)) into call_at
        from appeal_executors ae where ae.appeal_id = new.id;
        if call_at is null then
            raise exception 'Исполнитель обращения % не оповещён: АТС не записала состоявшегося звонка назначенному исполнителю', old.number
                using errcode = 'DL003',
                hint = 'Позвоните исполнителю из карточки обращения; когда он ответит, статус «в работе» станет доступен.';
        end if;
        new.notified_at := coalesce(old.notified_at, call_at);
        new.in_work_at := coalesce(old.in_work_at, now());
    end if;
    if t = 'отработано' then
        new.done_at := now();
    end if;
    if t = 'закрыто' then
        new.closed_at := now();
    end if;
    if f in ('отработано', 'закрыто', 'отменено') and t in ('в работе', 'новый') then
        new.done_at := null;
        new.closed_at := null;
    end if;
    return new;
end
$$;

-- The app's recording names the SIP Call-ID of its leg: it is linked to the PBX's call.
drop function dialog_record_call(uuid, call_direction, text, text, timestamptz, timestamptz, timestamptz, uuid, uuid, bytea, text);
create function dialog_record_call(
    p_id uuid, p_direction call_direction, p_from text, p_to text, p_started_at timestamptz,
    p_answered_at timestamptz, p_ended_at timestamptz, p_appeal uuid, p_executor uuid,
    p_recording bytea, p_codec text, p_sip_call_id text
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
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
    ring := least(coalesce(p_answered_at, p_ended_at) - p_started_at, interval '1 day');
    talk := least(p_ended_at - coalesce(p_answered_at, p_ended_at), interval '1 day');
    if exists (select 1 from calls where id = p_id) then
        return;
    end if;
    perform dialog_check_quota(coalesce(octet_length(p_recording), 0));
    insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at, operator_login,
                       appeal_id, executor_id, recording, recording_codec, sip_call_id, pbx_call_id)
    values (p_id, p_direction, p_from, p_to, ended - talk - ring,
            case when p_answered_at is not null then ended - talk end, ended, session_user,
            p_appeal, p_executor, p_recording, p_codec, nullif(p_sip_call_id, ''),
            -- Only a leg of this operator's own extension.
            (select p.id from pbx_calls p join staff s on s.sip_extension = p.extension and s.login = session_user
             where p.sip_call_id = nullif(p_sip_call_id, '') limit 1));
    if p_appeal is not null then
        insert into appeal_history (appeal_id, action, after)
            values (p_appeal, 'call', jsonb_build_object('call_id', p_id, 'direction', p_direction,
                'number', case when p_direction = 'исходящий' then p_to else p_from end));
    end if;
end
$$;

---------------------------------------------------------------------------------------------
-- The PBX's queue as it is, published by the pbx duty.

create table pbx_queues (
    queue text primary key,
    waiting integer not null,
    -- When the caller waiting longest joined the queue.
    longest_since timestamptz,
    agents integer not null,
    talking integer not null,
    updated_at timestamptz not null default now(),
    constraint pbx_queues_counts_check check (waiting between 0 and 10000 and agents between 0 and 10000 and talking between 0 and 10000)
);
alter table pbx_queues enable row level security;

create function dialog_pbx_queue(p_queue text, p_waiting integer, p_longest_since timestamptz, p_agents integer, p_talking integer)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_duty('pbx');
    insert into pbx_queues (queue, waiting, longest_since, agents, talking)
        values (p_queue, p_waiting, case when p_waiting > 0 then least(p_longest_since, now()) end, p_agents, p_talking)
    on conflict (queue) do update set waiting = excluded.waiting, longest_since = excluded.longest_since,
        agents = excluded.agents, talking = excluded.talking, updated_at = now()
    where (pbx_queues.waiting, pbx_queues.longest_since, pbx_queues.agents, pbx_queues.talking)
        is distinct from (excluded.waiting, excluded.longest_since, excluded.agents, excluded.talking);
    if found then
        perform pg_notify('dialog_queue', '');
    end if;
exception when others then
    -- A full notification queue must not lose the state: readers also poll.
    if sqlstate = '54000' then
        return;
    end if;
    raise;
end
$$;

-- The queues, for the operators' header and the supervisor's dashboard. A queue the bridge
-- has not reported for a minute is shown as unknown (`stale`).
create function dialog_queue_state()
returns table (queue text, waiting integer, longest_since timestamptz, agents integer, talking integer, stale boolean)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    return query select q.queue, q.waiting, q.longest_since, q.agents, q.talking, q.updated_at < now() - interval '1 minute'
        from pbx_queues q order by q.queue;
end
$$;

-- The bridge reports each queue at least every 20 s; that it is alive is also a fact.
create function dialog_pbx_alive() returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_duty('pbx');
    update pbx_queues set updated_at = now();
end
$$;

---------------------------------------------------------------------------------------------
-- Advisory locks choose the one active instance of a duty that must run once per center; a
-- person must not be able to take them.
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        revoke execute on function pg_catalog.pg_advisory_lock(bigint), pg_catalog.pg_try_advisory_lock(bigint),
            pg_catalog.pg_advisory_lock_shared(bigint), pg_catalog.pg_try_advisory_lock_shared(bigint),
            pg_catalog.pg_advisory_xact_lock(bigint), pg_catalog.pg_try_advisory_xact_lock(bigint),
            pg_catalog.pg_advisory_lock(integer, integer), pg_catalog.pg_try_advisory_lock(integer, integer)
            from public;
        -- The owner's migrations take one too.
        execute format('grant execute on function pg_catalog.pg_advisory_lock(bigint), pg_catalog.pg_try_advisory_lock(bigint) to %I',
            (select pg_get_userbyid(relowner) from pg_class where oid = 'public.appeals'::regclass));
        grant execute on function pg_catalog.pg_try_advisory_lock(bigint), pg_catalog.pg_advisory_unlock(bigint)
            to dialog_service;
    else
        raise warning 'A superuser should revoke the advisory-lock functions from public (see the README)';
    end if;
end
$$;

revoke all on all functions in schema public from public;
grant execute on function dialog_my_duty(), dialog_require_duty(service_duty), dialog_pbx_call(text, text, text, call_direction, text, text, text),
    dialog_pbx_queue(text, integer, timestamptz, integer, integer), dialog_pbx_alive()
    to dialog_service;
grant execute on function dialog_setting(text), dialog_queue_state(), dialog_is_owner() to dialog_operator, dialog_manager, dialog_service;
grant execute on function
    dialog_record_call(uuid, call_direction, text, text, timestamptz, timestamptz, timestamptz, uuid, uuid, bytea, text, text)
    to dialog_operator;
grant execute on function dialog_create_service(text, text, service_duty), dialog_set_service_active(text, boolean),
    dialog_set_setting(text, text)
    to dialog_admin;
-- What the earlier migrations granted stays granted (the revoke above touched only PUBLIC).
