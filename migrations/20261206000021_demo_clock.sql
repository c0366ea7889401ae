-- The clock and the person the triggers write down, which the owner may set for a session.
--
-- The times of an appeal's life (registered, assigned, in work, done, closed, every line of its
-- history, a call's start, answer and end) and who did each thing are the database's to write:
-- the triggers stamp them, and no client chooses them. A history loaded afterwards (the demo
-- city, an old system's appeals) is still work that people did at other times, and it must go
-- through the same triggers and checks, not around them. So the stamps now come from
--
-- * dialog_now() and dialog_clock_timestamp(): now() and clock_timestamp(), or the time in the
--   setting `dialog.clock`;
-- * dialog_actor(): session_user, or the login in the setting `dialog.actor`;
--
-- and the two settings count only in a session whose login is the owner of Dialog's tables or
-- a superuser (dialog_session_is_owner(): what dialog_is_owner() said until now). Any role may
-- set a custom setting for its own session (`set dialog.clock = …` from psql, or
-- `alter role … set`), so the setting never decides by itself: whose session it is decides. A
-- person's session always has the server's clock and the person's own login.
--
-- The owner acting as someone has that someone's rights, not the owner's: dialog_my_role(),
-- dialog_my_organization() and dialog_my_duty() read the login that acts, and dialog_is_owner()
-- holds only while the owner acts as itself. So the demo's operators cannot close an appeal,
-- its PBX bridge does only what the pbx duty may, and a received time is checked against the
-- registration as anyone's is.
--
-- The functions below that stamp are those of the earlier migrations, unchanged but for the
-- clock and the login.

-- Whether the session's login is the owner of Dialog's tables or a superuser (what
-- dialog_is_owner() said until now). While a setting is set the stamps ask it again and again
-- (for every row a statement looks at), so it is made cheap: it runs as its owner, the role
-- that made Dialog's objects, and so knows the owner's own session without reading the
-- catalog; and it has no search_path of its own (setting one would cost more than all the
-- rest): it names everything by its schema instead.
create function dialog_session_is_owner() returns boolean
language plpgsql stable security definer
as $$
begin
    if session_user operator(pg_catalog.=) current_user then
        return true;
    end if;
    return session_user operator(pg_catalog.=) (
            select pg_catalog.pg_get_userbyid(c.relowner) from pg_catalog.pg_class c
            where c.oid operator(pg_catalog.=) 'public.appeals'::pg_catalog.regclass)
        or coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname operator(pg_catalog.=) session_user),
                    false);
end
$$;
revoke all on function dialog_session_is_owner() from public;

-- The three below are written into the statements that call them (plain SQL, inlined), so
-- that every session of the app, where no setting is set, pays only for reading the setting.

-- The transaction's time, as now(); or the owner's `dialog.clock`.
create function dialog_now() returns timestamptz
language sql stable
return case when coalesce(current_setting('dialog.clock', true), '') <> '' and dialog_session_is_owner()
            then current_setting('dialog.clock', true)::timestamptz else now() end;
revoke all on function dialog_now() from public;

-- The moment, as clock_timestamp(); or the owner's `dialog.clock`.
create function dialog_clock_timestamp() returns timestamptz
language sql volatile
return case when coalesce(current_setting('dialog.clock', true), '') <> '' and dialog_session_is_owner()
            then current_setting('dialog.clock', true)::timestamptz else clock_timestamp() end;
revoke all on function dialog_clock_timestamp() from public;

-- Who acts: the session's login; or the owner's `dialog.actor`.
create function dialog_actor() returns text
language sql stable
return case when coalesce(current_setting('dialog.actor', true), '') <> '' and dialog_session_is_owner()
            then current_setting('dialog.actor', true) else session_user end;
revoke all on function dialog_actor() from public;

-- The owner, acting as itself.
create or replace function dialog_is_owner() returns boolean
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return dialog_session_is_owner() and dialog_actor() = session_user;
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_my_role() returns staff_role
language sql stable security definer set search_path = public, pg_temp
return (select role from staff where login = dialog_actor() and active);

-- As in …09_boundary.sql.
create or replace function dialog_my_organization() returns uuid
language sql stable security definer set search_path = public, pg_temp
return (select organization_id from staff where login = dialog_actor() and role = 'manager' and active);

-- As in …10_pbx_witness.sql.
create or replace function dialog_my_duty() returns service_duty
language sql stable security definer set search_path = public, pg_temp
return (select duty from services where login = dialog_actor() and active);

-- As in …09_boundary.sql.
create or replace function dialog_appeals_before_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if new.status <> 'новый' then
        raise exception 'Новое обращение создаётся в статусе «новый»' using errcode = 'DL001',
            hint = 'Сохраните обращение, затем назначьте исполнителя и смените статус.';
    end if;
    new.registered_at := dialog_now();
    new.received_at := coalesce(new.received_at, dialog_now());
    perform dialog_check_received(new.received_at, new.registered_at);
    new.number := dialog_next_number(new.registered_at);
    new.created_by := dialog_actor();
    new.updated_by := dialog_actor();
    new.updated_at := dialog_now();
    new.version := 1;
    new.notified_at := null;
    new.in_work_at := null;
    new.done_at := null;
    new.closed_at := null;
    new := dialog_appeal_derive(new);
    if new.joined_to is not null then
        perform dialog_check_join(new);
    end if;
    return new;
end
$$;

-- As in …16_conflict_detail.sql.
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
    new := dialog_appeal_derive(new);
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

-- As in …12_one_source.sql.
create or replace function dialog_check_transition(old appeals, new appeals) returns appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    f appeal_status := old.status;
    t appeal_status := new.status;
    call_at timestamptz;
begin
    if not dialog_step_exists(f, t, new.appeal_type) then
        raise exception 'Нельзя перевести обращение % из статуса «%» в «%»', old.number, f, t using errcode = 'DL001',
            hint = 'Порядок статусов: новый → назначено → в работе → отработано → закрыто.';
    end if;
    if dialog_step_is_supervisors(f, t) and not dialog_is_supervisor() then
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
        new.in_work_at := coalesce(old.in_work_at, dialog_now());
    end if;
    if t = 'отработано' then
        new.done_at := dialog_now();
    end if;
    if t = 'закрыто' then
        new.closed_at := dialog_now();
    end if;
    if f in ('отработано', 'закрыто', 'отменено') and t in ('в работе', 'новый') then
        new.done_at := null;
        new.closed_at := null;
    end if;
    return new;
end
$$;

-- As in …02_appeals.sql.
create or replace function dialog_appeal_executors_before_insert() returns trigger
language plpgsql
as $$
begin
    new.assigned_at := public.dialog_clock_timestamp();
    new.assigned_by := public.dialog_actor();
    return new;
end
$$;

-- As in …02_appeals.sql.
create or replace function dialog_history_before_insert() returns trigger
language plpgsql
as $$
begin
    new.at := public.dialog_clock_timestamp();
    new.actor := public.dialog_actor();
    return new;
end
$$;

-- As in …09_boundary.sql.
create or replace function dialog_check_quota(p_bytes bigint) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    used bigint;
begin
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

-- As in …15_kept_calls.sql.
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
    select p.* into witness from pbx_calls p join staff s on s.sip_extension = p.extension and s.login = dialog_actor()
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
            case when p_answered_at is not null then ended - talk end, ended, dialog_actor(),
            p_appeal, p_executor, p_recording, p_codec, nullif(p_sip_call_id, ''), witness.id);
    if p_appeal is not null then
        insert into appeal_history (appeal_id, action, after)
            values (p_appeal, 'call', jsonb_build_object('call_id', p_id, 'direction', p_direction,
                'number', case when p_direction = 'исходящий' then p_to else p_from end));
    end if;
end
$$;

-- As in …10_pbx_witness.sql (the start, which was the column's default now(), is written).
create or replace function dialog_pbx_call(
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
    insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, operator_login, started_at)
        values (p_uniqueid, p_linkedid, p_direction, p_extension, p_number, nullif(p_sip_call_id, ''),
                (select login from staff where sip_extension = p_extension), dialog_now())
    on conflict (uniqueid) do update set
        sip_call_id = coalesce(pbx_calls.sip_call_id, excluded.sip_call_id),
        number = case when pbx_calls.answered_at is null then excluded.number else pbx_calls.number end
    returning * into c;
    if p_event = 'answer' and c.answered_at is null and c.ended_at is null then
        update pbx_calls set answered_at = dialog_now() where id = c.id;
    elsif p_event = 'end' and c.ended_at is null then
        update pbx_calls set ended_at = dialog_now() where id = c.id;
    end if;
    if c.sip_call_id is not null then
        update calls set pbx_call_id = c.id where sip_call_id = c.sip_call_id and pbx_call_id is null;
    end if;
end
$$;

-- As in …09_boundary.sql (the change's time, which was the column's default, is written).
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    s bigint;
begin
    insert into appeal_changes (at, appeal_id, organization_id, op, version)
        select dialog_clock_timestamp(), a.id, a.organization_id, p_op, a.version from appeals a where a.id = p_appeal
        returning seq into s;
    if s is null then
        return;
    end if;
    if s % 1000 = 0 then
        delete from appeal_changes where at < dialog_now() - dialog_change_retention();
    end if;
    -- A full notification queue must never stop an appeal from being saved: clients also
    -- read the changes after a timeout.
    begin
        perform pg_notify('dialog_changes', s::text);
    exception when others then
        raise warning 'notification not sent: %', sqlerrm;
    end;
end
$$;
