-- Appeals and everything hanging off them: executors, history, files, calls.
-- Workflow rules live here, in triggers, so that they hold for any client.
-- Rule violations raise SQLSTATEs of class DL (DL001...) with a Russian message that
-- says what to do; dialog-core maps each code to its own error variant.

create table appeal_counters (
    year integer primary key,
    last integer not null
);

create table appeals (
    id uuid primary key,
    number text not null,
    received_at timestamptz not null default now(),
    registered_at timestamptz not null default now(),
    channel appeal_channel not null default 'телефон',
    -- The applicant's phone in E.164 or their e-mail: how we reach them again.
    identifier text not null,
    applicant_name text not null default '',
    contacts text not null default '',
    building_id uuid constraint appeals_building_fkey references buildings,
    apartment text not null default '',
    entrance text not null default '',
    floor text not null default '',
    address_note text not null default '',
    kind_id uuid not null constraint appeals_kind_fkey references appeal_kinds,
    appeal_type appeal_type not null,
    priority appeal_priority not null,
    status appeal_status not null default 'новый',
    comment text not null default '',
    joined_to uuid constraint appeals_joined_to_fkey references appeals,
    -- Derived by triggers from the building and the kind; never typed by a client.
    organization_id uuid,
    address text not null default '',
    localize_deadline_at timestamptz,
    deadline_at timestamptz,
    notified_at timestamptz,
    in_work_at timestamptz,
    done_at timestamptz,
    closed_at timestamptz,
    created_by text not null default session_user,
    updated_at timestamptz not null default now(),
    updated_by text not null default session_user,
    version integer not null default 1,
    search_text text not null default '',
    -- The clock that matters now: localisation while nobody works on an accident, then the
    -- resolution deadline; none once the work is done.
    control_at timestamptz generated always as (
        case
            when status in ('новый', 'назначено') then coalesce(localize_deadline_at, deadline_at)
            when status = 'в работе' then deadline_at
        end
    ) stored,
    progress smallint generated always as (
        case status
            when 'новый' then 0
            when 'назначено' then 25
            when 'в работе' then 50
            when 'отработано' then 90
            when 'закрыто' then 100
            when 'отменено' then 100
        end
    ) stored,
    constraint appeals_number_key unique (number),
    constraint appeals_identifier_check check (
        dialog_is_phone(identifier) or identifier ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
    ),
    constraint appeals_address_required_check check (appeal_type in ('справка', 'жалоба') or building_id is not null),
    constraint appeals_not_joined_to_self_check check (joined_to <> id)
);

create index appeals_received_idx on appeals (received_at desc, id desc);
create index appeals_live_received_idx on appeals (received_at desc, id desc)
    where status in ('новый', 'назначено', 'в работе');
create index appeals_unnotified_received_idx on appeals (received_at desc, id desc)
    where status in ('новый', 'назначено') and appeal_type <> 'справка';
create index appeals_control_idx on appeals (control_at, id) where control_at is not null;
create index appeals_building_idx on appeals (building_id, received_at desc, id desc);
create index appeals_identifier_idx on appeals (identifier, received_at desc);
create index appeals_kind_idx on appeals (kind_id, received_at desc);
create index appeals_organization_idx on appeals (organization_id, received_at desc);
create index appeals_joined_to_idx on appeals (joined_to) where joined_to is not null;
create index appeals_search_idx on appeals using gin (search_text gin_trgm_ops);

create table appeal_executors (
    appeal_id uuid not null constraint appeal_executors_appeal_fkey references appeals,
    executor_id uuid not null constraint appeal_executors_executor_fkey references executors,
    assigned_at timestamptz not null default clock_timestamp(),
    assigned_by text not null default session_user,
    primary key (appeal_id, executor_id)
);
create index appeal_executors_executor_idx on appeal_executors (executor_id, appeal_id);

create table appeal_history (
    id bigint generated always as identity primary key,
    appeal_id uuid not null constraint appeal_history_appeal_fkey references appeals,
    at timestamptz not null default clock_timestamp(),
    actor text not null default session_user,
    action text not null,
    before jsonb,
    after jsonb,
    comment text,
    constraint appeal_history_action_check check (
        action in ('created', 'changed', 'status', 'comment', 'assigned', 'unassigned', 'joined', 'unjoined', 'attachment')
    ),
    constraint appeal_history_comment_check check (action <> 'comment' or btrim(coalesce(comment, '')) <> '')
);
create index appeal_history_appeal_idx on appeal_history (appeal_id, id);

create table attachments (
    id uuid primary key,
    appeal_id uuid not null constraint attachments_appeal_fkey references appeals,
    file_name text not null,
    mime text not null,
    size integer generated always as (octet_length(content)) stored,
    content bytea not null,
    uploaded_by text not null default session_user,
    uploaded_at timestamptz not null default now(),
    constraint attachments_file_name_check check (btrim(file_name) <> ''),
    -- 25 MiB: a phone video of a leak fits, a backup does not balloon.
    constraint attachments_size_check check (octet_length(content) between 1 and 26214400)
);
create index attachments_appeal_idx on attachments (appeal_id);

create table calls (
    id uuid primary key,
    direction call_direction not null,
    from_number text not null,
    to_number text not null,
    started_at timestamptz not null,
    answered_at timestamptz,
    ended_at timestamptz,
    operator_login text not null default session_user,
    appeal_id uuid constraint calls_appeal_fkey references appeals,
    executor_id uuid constraint calls_executor_fkey references executors,
    recording bytea,
    recording_codec text,
    organization_id uuid,
    constraint calls_numbers_check check (from_number ~ '^\+?[0-9*#]{2,20}$' and to_number ~ '^\+?[0-9*#]{2,20}$'),
    constraint calls_times_check check (
        (answered_at is null or answered_at >= started_at)
        and (ended_at is null or ended_at >= coalesce(answered_at, started_at))
    ),
    constraint calls_recording_codec_check check ((recording is null) = (recording_codec is null)),
    -- 100 MiB: hours of Opus.
    constraint calls_recording_size_check check (recording is null or octet_length(recording) between 1 and 104857600)
);
create index calls_appeal_idx on calls (appeal_id) where appeal_id is not null;
create index calls_executor_idx on calls (executor_id, started_at) where executor_id is not null;
create index calls_started_idx on calls (started_at desc);

-- Derived fields of an appeal. The pieces are separate functions so that bulk loads
-- (dialog-admin demo) compute them exactly as the triggers do.
create function dialog_appeal_address(p_building uuid, p_apartment text, p_entrance text, p_floor text) returns text
language sql stable security definer set search_path = public, pg_temp
return coalesce((select b.address from buildings b where b.id = p_building), '')
    || case when p_building is not null and p_apartment <> '' then ', кв. ' || p_apartment else '' end
    || case when p_building is not null and p_entrance <> '' then ', подъезд ' || p_entrance else '' end
    || case when p_building is not null and p_floor <> '' then ', этаж ' || p_floor else '' end;

-- What quick search looks through: the number (also without year and zeros), the phone's
-- digits, the applicant, the address, the kind and the comment.
create function dialog_appeal_search_text(
    p_number text, p_identifier text, p_applicant text, p_contacts text, p_address text,
    p_address_note text, p_kind_name text, p_comment text
) returns text
language sql immutable parallel safe
return dialog_norm(concat_ws(' ', p_number, ltrim(split_part(p_number, '-', 2), '0'), ltrim(p_identifier, '+'),
    p_applicant, p_contacts, p_address, p_address_note, p_kind_name, p_comment));

create function dialog_appeal_derive(a appeals) returns appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    k appeal_kinds;
begin
    select * into k from appeal_kinds where id = a.kind_id;
    if not found then
        raise exception 'Вид обращения не найден' using errcode = 'DL010', hint = 'Выберите вид обращения из справочника.';
    end if;
    a.appeal_type := k.appeal_type;
    a.priority := coalesce(a.priority, k.default_priority);
    a.localize_deadline_at := a.received_at + make_interval(mins => k.localize_minutes);
    a.deadline_at := a.received_at + make_interval(mins => k.resolve_minutes);
    a.organization_id := (select organization_id from buildings where id = a.building_id);
    a.address := dialog_appeal_address(a.building_id, a.apartment, a.entrance, a.floor);
    a.search_text := dialog_appeal_search_text(a.number, a.identifier, a.applicant_name, a.contacts, a.address,
        a.address_note, k.name, a.comment);
    return a;
end
$$;

create function dialog_appeals_before_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    y integer := extract(year from now())::integer;
    n integer;
begin
    -- A retried create with an id that already exists is not an error and must not burn a
    -- number: the row is silently skipped and the client reads the existing appeal.
    if exists (select 1 from appeals where id = new.id) then
        return null;
    end if;
    if new.status <> 'новый' then
        raise exception 'Новое обращение создаётся в статусе «новый»' using errcode = 'DL001',
            hint = 'Сохраните обращение, затем назначьте исполнителя и смените статус.';
    end if;
    insert into appeal_counters as c (year, last) values (y, 1)
        on conflict (year) do update set last = c.last + 1
        returning last into n;
    new.number := y || '-' || lpad(n::text, 6, '0');
    new.registered_at := now();
    new.created_by := session_user;
    new.updated_by := session_user;
    new.updated_at := now();
    new.version := 1;
    new.notified_at := null;
    new.in_work_at := null;
    new.done_at := null;
    new.closed_at := null;
    return dialog_appeal_derive(new);
end
$$;

create trigger appeals_before_insert before insert on appeals
    for each row execute function dialog_appeals_before_insert();

create function dialog_check_transition(old appeals, new appeals) returns appeals
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
        select min(c.started_at) into call_at
        from calls c
        join appeal_executors ae on ae.executor_id = c.executor_id and ae.appeal_id = new.id
        where c.direction = 'исходящий'
          and c.started_at >= ae.assigned_at
          and c.answered_at is not null
          and c.recording is not null
          and (c.appeal_id is null or c.appeal_id = new.id);
        if call_at is null then
            raise exception 'Исполнитель обращения % не оповещён: нет записанного исходящего звонка назначенному исполнителю', old.number
                using errcode = 'DL003',
                hint = 'Позвоните исполнителю из карточки обращения; после записанного разговора статус «в работе» станет доступен.';
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

create function dialog_check_join(a appeals) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    target appeals;
begin
    select * into target from appeals where id = a.joined_to;
    if not found then
        raise exception 'Обращение для объединения не найдено' using errcode = 'DL007';
    end if;
    if target.joined_to is not null then
        raise exception 'Обращение % само присоединено к другому', target.number using errcode = 'DL007',
            hint = 'Присоединяйте к первому обращению группы.';
    end if;
    if target.kind_id <> a.kind_id or target.building_id is distinct from a.building_id or a.building_id is null then
        raise exception 'Объединять можно только обращения одного вида по одному адресу' using errcode = 'DL007',
            hint = format('Проверьте адрес и вид обращения %s.', a.number);
    end if;
    if exists (select 1 from appeals where joined_to = a.id) then
        raise exception 'К обращению % уже присоединены другие', a.number using errcode = 'DL007',
            hint = 'Присоедините остальные к нему, а не его к другому.';
    end if;
end
$$;

create function dialog_appeals_before_update() returns trigger
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
            hint = format('Вы сохраняли версию %s, а сейчас версия %s.', new.version, old.version);
    end if;
    new.version := old.version + 1;
    new.updated_at := now();
    new.updated_by := session_user;
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
    return new;
end
$$;

create trigger appeals_before_update before update on appeals
    for each row execute function dialog_appeals_before_update();

-- The fields a person sees change in the history.
create function dialog_appeal_fields(a appeals) returns jsonb
language sql immutable
return jsonb_build_object(
    'received_at', a.received_at, 'channel', a.channel, 'identifier', a.identifier,
    'applicant_name', a.applicant_name, 'contacts', a.contacts, 'building_id', a.building_id,
    'address', a.address, 'address_note', a.address_note, 'kind_id', a.kind_id,
    'appeal_type', a.appeal_type, 'priority', a.priority, 'status', a.status,
    'comment', a.comment, 'joined_to', a.joined_to, 'deadline_at', a.deadline_at
);

create function dialog_appeals_after_change() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    o jsonb;
    n jsonb := dialog_appeal_fields(new);
    b jsonb := '{}';
    a jsonb := '{}';
    k text;
    act text := 'changed';
begin
    if tg_op = 'INSERT' then
        insert into appeal_history (appeal_id, action, after) values (new.id, 'created', n);
    else
        o := dialog_appeal_fields(old);
        for k in select key from jsonb_each(n) loop
            if o -> k is distinct from n -> k then
                b := b || jsonb_build_object(k, o -> k);
                a := a || jsonb_build_object(k, n -> k);
            end if;
        end loop;
        if a <> '{}' then
            if a ? 'status' then
                act := 'status';
            elsif a ? 'joined_to' and (a - 'joined_to') = '{}' then
                act := case when new.joined_to is null then 'unjoined' else 'joined' end;
            end if;
            insert into appeal_history (appeal_id, action, before, after) values (new.id, act, b, a);
        end if;
    end if;
    perform pg_notify('dialog_appeals', json_build_object(
        'id', new.id, 'number', new.number, 'version', new.version, 'op', lower(tg_op)
    )::text);
    return null;
end
$$;

create trigger appeals_after_change after insert or update on appeals
    for each row execute function dialog_appeals_after_change();

-- Executors: only those who serve the kind and the building, and the appeal is touched so
-- that its version moves and other screens hear about it.
create function dialog_appeal_executors_change() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    a appeals;
    e executors;
    r appeal_executors := coalesce(new, old);
begin
    select * into a from appeals where id = r.appeal_id;
    select * into e from executors where id = r.executor_id;
    if tg_op = 'INSERT' then
        if a.building_id is null then
            raise exception 'Чтобы назначить исполнителя, укажите адрес обращения %', a.number using errcode = 'DL002';
        end if;
        if not e.active then
            raise exception 'Исполнитель % не работает', e.full_name using errcode = 'DL005',
                hint = 'Выберите другого исполнителя.';
        end if;
        if not exists (select 1 from executor_kinds where executor_id = e.id and kind_id = a.kind_id)
            or not exists (select 1 from executor_buildings where executor_id = e.id and building_id = a.building_id) then
            raise exception 'Исполнитель % не обслуживает этот вид обращения по адресу %', e.full_name, a.address
                using errcode = 'DL005', hint = 'Выберите исполнителя из списка обслуживающих этот адрес.';
        end if;
        if a.status not in ('новый', 'назначено', 'в работе') then
            raise exception 'Обращение % уже отработано: исполнителя не назначить', a.number using errcode = 'DL001';
        end if;
        insert into appeal_history (appeal_id, action, after)
            values (a.id, 'assigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name));
    else
        if a.status in ('назначено', 'в работе')
            and not exists (select 1 from appeal_executors where appeal_id = a.id) then
            raise exception 'Нельзя снять последнего исполнителя с обращения % в статусе «%»', a.number, a.status
                using errcode = 'DL002', hint = 'Сначала назначьте другого исполнителя или верните статус «новый».';
        end if;
        insert into appeal_history (appeal_id, action, before)
            values (a.id, 'unassigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name));
    end if;
    update appeals set updated_at = now() where id = a.id;
    return null;
end
$$;

-- When and by whom an executor was assigned is the server's to say: a backdated assignment
-- would let an older call count as the notification.
create function dialog_appeal_executors_before_insert() returns trigger
language plpgsql
as $$
begin
    new.assigned_at := clock_timestamp();
    new.assigned_by := session_user;
    return new;
end
$$;

create trigger appeal_executors_before_insert before insert on appeal_executors
    for each row execute function dialog_appeal_executors_before_insert();

create trigger appeal_executors_change after insert or delete on appeal_executors
    for each row execute function dialog_appeal_executors_change();

create function dialog_history_before_insert() returns trigger
language plpgsql
as $$
begin
    new.at := clock_timestamp();
    new.actor := session_user;
    return new;
end
$$;

create trigger appeal_history_before_insert before insert on appeal_history
    for each row execute function dialog_history_before_insert();

create function dialog_history_after_insert() returns trigger
language plpgsql
as $$
begin
    if new.action in ('comment', 'attachment') then
        perform pg_notify('dialog_appeals', json_build_object(
            'id', new.appeal_id, 'op', new.action
        )::text);
    end if;
    return null;
end
$$;

create trigger appeal_history_after_insert after insert on appeal_history
    for each row execute function dialog_history_after_insert();

create function dialog_attachments_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    insert into appeal_history (appeal_id, action, after)
        values (new.appeal_id, 'attachment', jsonb_build_object('id', new.id, 'file_name', new.file_name, 'size', new.size));
    return null;
end
$$;

create trigger attachments_after_insert after insert on attachments
    for each row execute function dialog_attachments_after_insert();

create function dialog_calls_before_write() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if tg_op = 'INSERT' then
        new.operator_login := session_user;
        -- Calls are stored when they end; one from the future is forged.
        if new.started_at > now() + interval '1 minute' or new.ended_at > now() + interval '1 minute' then
            raise exception 'Время звонка позже текущего времени сервера' using errcode = 'DL006',
                hint = 'Проверьте часы компьютера.';
        end if;
    end if;
    new.organization_id := coalesce(
        (select organization_id from appeals where id = new.appeal_id),
        (select organization_id from executors where id = new.executor_id)
    );
    return new;
end
$$;

create trigger calls_before_write before insert or update on calls
    for each row execute function dialog_calls_before_write();

-- A corrected address in the directory reaches the appeals registered at it.
create function dialog_buildings_after_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    update appeals set building_id = building_id where building_id = new.id;
    return null;
end
$$;

create trigger buildings_after_update after update of city, street, house, block, organization_id on buildings
    for each row execute function dialog_buildings_after_update();
