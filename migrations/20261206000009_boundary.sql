-- The boundary against a person with psql. Every rule below holds for any client that logs in
-- with a person's own password, whatever SQL it sends:
--
-- * A person is who their active staff row in THIS database says. Group roles are
--   cluster-wide, so membership alone proves nothing: the database's CONNECT right goes to
--   each person's login (given when the person is made or switched on, taken when switched
--   off), and every rule reads the staff row.
-- * People change shared data only through the functions below (SECURITY DEFINER, owned by
--   the owner role), never with UPDATE or DELETE of their own: those rights would also let
--   them LOCK a whole table and stop the center, or write columns the server must set.
-- * What a housing company's manager reads is served by functions that filter by their
--   organization inside. They have no SELECT on the appeals and what hangs off them, so the
--   planner cannot show them estimates drawn from other organizations' rows (EXPLAIN), and no
--   condition of theirs runs over rows they may not see.
-- * Change notifications carry a sequence number only; what changed is read through a
--   function that shows each person what they may see.
--
-- Where PostgreSQL alone cannot hold a limit (a person may switch their own timeouts off), the
-- README says what a center adds in front of the server.

---------------------------------------------------------------------------------------------
-- Who the session is.

-- The role of the session's person in this database, or null when the login is not an active
-- person here.
create function dialog_my_role() returns staff_role
language sql stable security definer set search_path = public, pg_temp
return (select role from staff where login = session_user and active);

-- The role that owns Dialog's tables (it runs `dialog-admin migrate` and the demo loader),
-- or a superuser: they may do what an admin does.
create function dialog_is_owner() returns boolean
language sql stable security definer set search_path = public, pg_temp
return session_user = (select pg_get_userbyid(relowner) from pg_class where oid = 'public.appeals'::regclass)
    or coalesce((select rolsuper from pg_roles where rolname = session_user), false);

-- Operators, supervisors and admins: the center's own staff, who see every appeal.
create function dialog_is_staff() returns boolean
language sql stable security definer set search_path = public, pg_temp
return coalesce(dialog_my_role() in ('operator', 'supervisor', 'admin'), false) or dialog_is_owner();

create or replace function dialog_is_supervisor() returns boolean
language sql stable security definer set search_path = public, pg_temp
return coalesce(dialog_my_role() in ('supervisor', 'admin'), false) or dialog_is_owner();

create function dialog_is_admin() returns boolean
language sql stable security definer set search_path = public, pg_temp
return coalesce(dialog_my_role() = 'admin', false) or dialog_is_owner();

create or replace function dialog_my_organization() returns uuid
language sql stable security definer set search_path = public, pg_temp
return (select organization_id from staff where login = session_user and role = 'manager' and active);

-- What the session may read: null for staff (everything), a manager's organization; anyone
-- else is refused.
create function dialog_scope() returns uuid
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    r staff_role := dialog_my_role();
begin
    if r is null and dialog_is_owner() then
        return null;
    end if;
    if r is null then
        raise exception 'Учётная запись «%» не зарегистрирована как сотрудник этой базы Диалога', session_user
            using errcode = '42501', hint = 'Обратитесь к администратору.';
    end if;
    if r = 'manager' then
        return dialog_my_organization();
    end if;
    return null;
end
$$;

create function dialog_require_staff() returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if dialog_scope() is not null then
        raise exception 'Представитель УК может только просматривать обращения' using errcode = '42501';
    end if;
end
$$;

create or replace function dialog_require_admin() returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not dialog_is_admin() then
        raise exception 'Это может делать только администратор' using errcode = '42501';
    end if;
end
$$;

---------------------------------------------------------------------------------------------
-- The door: the database's CONNECT right belongs to each active person, not to everyone.

do $$
begin
    execute format('revoke connect, temporary on database %I from public', current_database());
    execute format('grant connect on database %I to %I', current_database(), current_user);
end
$$;

-- The most sessions one person may hold at once: the app's few, a browser or two. One person
-- cannot take the whole server's connections.
create function dialog_person_connection_limit() returns integer
language sql immutable
return 8;

create function dialog_open_door(p_login text, p_open boolean) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if p_open then
        execute format('grant connect on database %I to %I', current_database(), p_login);
        execute format('alter role %I connection limit %s', p_login, dialog_person_connection_limit());
        -- A transaction left open holds what it locked: the server ends it after a minute; one
        -- statement runs at most two. (A person may lift these for their own session: the
        -- README says what a center puts in front of the server for that.)
        execute format('alter role %I in database %I set idle_in_transaction_session_timeout = %L',
            p_login, current_database(), '60s');
        execute format('alter role %I in database %I set statement_timeout = %L', p_login, current_database(), '2min');
    else
        execute format('revoke connect on database %I from %I', current_database(), p_login);
    end if;
end
$$;
revoke all on function dialog_open_door(text, boolean) from public;

do $$
declare
    s record;
begin
    for s in select login, active from staff where exists (select 1 from pg_roles where rolname = login) loop
        perform dialog_open_door(s.login, s.active);
    end loop;
end
$$;

create or replace function dialog_create_person(
    p_login text, p_verifier text, p_role staff_role, p_full_name text,
    p_sip_extension text default null, p_organization_id uuid default null
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    perform dialog_check_verifier(p_verifier);
    if p_login !~ '^[a-z][a-z0-9_.-]{2,62}$' then
        raise exception 'Логин «%» не подходит', p_login using errcode = 'DL012',
            hint = 'Логин: от 3 до 63 латинских строчных букв, цифр, точек, дефисов и подчёркиваний, начинается с буквы.';
    end if;
    if exists (select 1 from pg_roles where rolname = p_login) then
        raise exception 'Логин «%» уже занят', p_login using errcode = 'DL013', hint = 'Выберите другой логин.';
    end if;
    insert into staff (login, full_name, role, sip_extension, organization_id)
        values (p_login, p_full_name, p_role, nullif(btrim(p_sip_extension), ''), p_organization_id);
    execute format('create role %I login password %L in role %I', p_login, p_verifier, 'dialog_' || p_role);
    perform dialog_open_door(p_login, true);
end
$$;

create or replace function dialog_set_person_active(p_login text, p_active boolean) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    if p_login = session_user then
        raise exception 'Нельзя отключить самого себя' using errcode = 'DL014';
    end if;
    update staff set active = p_active where login = p_login;
    if not found then
        raise exception 'Сотрудник «%» не найден', p_login using errcode = 'DL015';
    end if;
    execute format('alter role %I %s', p_login, case when p_active then 'login' else 'nologin' end);
    perform dialog_open_door(p_login, p_active);
    if not p_active then
        perform pg_terminate_backend(pid) from pg_stat_activity where usename = p_login;
    end if;
end
$$;

create or replace function dialog_set_password(p_login text, p_verifier text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_scope();
    if p_login <> session_user then
        perform dialog_require_admin();
    end if;
    perform dialog_check_verifier(p_verifier);
    if not exists (select 1 from staff where login = p_login) then
        raise exception 'Сотрудник «%» не найден', p_login using errcode = 'DL015';
    end if;
    execute format('alter role %I password %L', p_login, p_verifier);
end
$$;

---------------------------------------------------------------------------------------------
-- What people may no longer do themselves. Writes go through the functions below.

revoke all on appeals, appeal_executors, appeal_history, attachments, calls, filter_templates, phone_lines
    from dialog_operator, dialog_supervisor, dialog_admin, dialog_manager;
revoke all on appeal_counters from dialog_operator, dialog_supervisor, dialog_admin, dialog_manager;
-- Staff read everything of their center; the policies below still ask for the staff row.
grant select on appeals, appeal_executors, appeal_history, attachments, calls, phone_lines to dialog_operator;

drop policy appeals_staff on appeals;
drop policy appeals_manager on appeals;
drop policy appeal_executors_staff on appeal_executors;
drop policy appeal_executors_manager on appeal_executors;
drop policy appeal_history_read on appeal_history;
drop policy appeal_history_comment on appeal_history;
drop policy appeal_history_manager on appeal_history;
drop policy attachments_staff on attachments;
drop policy attachments_manager on attachments;
drop policy calls_staff_read on calls;
drop policy calls_staff_insert on calls;
drop policy calls_staff_link on calls;
drop policy calls_manager on calls;
drop policy filter_templates_read on filter_templates;
drop policy filter_templates_write on filter_templates;
drop policy filter_templates_update on filter_templates;
drop policy filter_templates_delete on filter_templates;
drop policy phone_lines_read on phone_lines;
drop policy phone_lines_own_insert on phone_lines;
drop policy phone_lines_own_update on phone_lines;
drop policy phone_lines_own_delete on phone_lines;

create policy appeals_staff on appeals for select to dialog_operator using ((select dialog_is_staff()));
create policy appeal_executors_staff on appeal_executors for select to dialog_operator using ((select dialog_is_staff()));
create policy appeal_history_staff on appeal_history for select to dialog_operator using ((select dialog_is_staff()));
create policy attachments_staff on attachments for select to dialog_operator using ((select dialog_is_staff()));
create policy calls_staff on calls for select to dialog_operator using ((select dialog_is_staff()));
create policy phone_lines_staff on phone_lines for select to dialog_operator using ((select dialog_is_staff()));
alter table staff enable row level security;
create policy staff_people on staff for select to dialog_operator, dialog_manager
    using ((select dialog_my_role()) is not null);

-- LIKE no longer runs before the row policies: it is not leakproof (PostgreSQL's default).
-- Nobody needs it to be any more, since the registry is served by a function.
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        alter function pg_catalog.textlike(text, text) not leakproof;
        -- Large objects live outside any table: nobody here needs them, and they would let a
        -- person fill the disk.
        revoke execute on function pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
            pg_catalog.lo_import(text), pg_catalog.lo_import(text, oid), pg_catalog.lo_from_bytea(oid, bytea)
            from public;
    elsif (select proleakproof from pg_proc where oid = 'pg_catalog.textlike(text, text)'::regprocedure) then
        raise warning 'LIKE is still declared leakproof: a superuser should run: alter function pg_catalog.textlike(text, text) not leakproof';
    end if;
end
$$;

---------------------------------------------------------------------------------------------
-- Limits on what a person may type.

-- When an appeal may say it was received: not after it was registered (a minute of clock
-- difference aside), and not more than 31 days before. A deadline counts from it, so a
-- received_at in the future would push the deadline out.
create function dialog_check_received(p_received timestamptz, p_registered timestamptz) returns void
language plpgsql stable
as $$
begin
    -- The owner's tools load history (imports, the demo city) with the times it had.
    if dialog_is_owner() then
        return;
    end if;
    if p_received > p_registered + interval '1 minute' then
        raise exception 'Время поступления обращения позже времени его регистрации' using errcode = 'DL016',
            hint = 'Укажите время, когда обращение поступило, — не позже текущего.';
    end if;
    if p_received < p_registered - interval '31 days' then
        raise exception 'Время поступления обращения раньше его регистрации больше чем на 31 день' using errcode = 'DL016',
            hint = 'Проверьте дату поступления.';
    end if;
end
$$;

-- Longest texts a person types into an appeal.
alter table appeals
    add constraint appeals_text_length_check check (
        length(applicant_name) <= 300 and length(contacts) <= 1000 and length(apartment) <= 20
        and length(entrance) <= 20 and length(floor) <= 20 and length(address_note) <= 1000
        and length(comment) <= 10000 and length(identifier) <= 320
    ) not valid;
alter table appeal_history
    add constraint appeal_history_comment_length_check check (length(comment) <= 10000) not valid;

-- File names as a citizen or an operator chose them: no path, no control or direction
-- characters (U+202E and its kind can make «…exe.pdf» show as «…fdp.exe»), at most 255 characters.
update attachments set file_name = left(btrim(regexp_replace(file_name,
    '[\x01-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff/\\]', '_', 'g')), 255)
where file_name ~ '[\x01-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff/\\]' or length(file_name) > 255;
alter table attachments drop constraint attachments_file_name_check;
alter table attachments add constraint attachments_file_name_check check (
    btrim(file_name) <> '' and file_name !~ '^\.+$' and length(file_name) <= 255
    and file_name !~ '[\x01-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff/\\]'
);
alter table attachments add constraint attachments_mime_check check (mime ~ '^[a-z0-9.+-]+/[a-z0-9.+-]+$');

-- What one person may store in a day: files and call recordings together. One operator cannot
-- fill the server's disk.
create function dialog_daily_bytes_limit() returns bigint
language sql immutable
return 2147483648;

create function dialog_check_quota(p_bytes bigint) returns void
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    used bigint;
begin
    select coalesce((select sum(size) from attachments
                     where uploaded_by = session_user and uploaded_at > now() - interval '1 day'), 0)
         + coalesce((select sum(octet_length(recording)) from calls
                     where operator_login = session_user and started_at > now() - interval '1 day'), 0)
      into used;
    if used + p_bytes > dialog_daily_bytes_limit() then
        raise exception 'За сутки вы сохранили больше % МБ файлов и записей', dialog_daily_bytes_limit() / 1048576
            using errcode = 'DL017', hint = 'Обратитесь к администратору, если это нужно для работы.';
    end if;
end
$$;
create index attachments_uploaded_idx on attachments (uploaded_by, uploaded_at);
create index calls_operator_idx on calls (operator_login, started_at);

---------------------------------------------------------------------------------------------
-- Numbers without a lock: one sequence per year. A registration that fails leaves a gap in
-- the numbers; no number is ever given twice, and nobody waits for anybody to get one.

create function dialog_next_number(p_at timestamptz) returns text
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    y integer := extract(year from p_at)::integer;
    seq text := 'appeal_number_' || y;
begin
    if to_regclass(seq) is null then
        begin
            execute format('create sequence %I as integer', seq);
        exception when duplicate_table or unique_violation then null;
        end;
    end if;
    return y || '-' || lpad(nextval(seq)::text, 6, '0');
end
$$;
revoke all on function dialog_next_number(timestamptz) from public;

-- The years ahead exist already, so that nobody creates one inside a long transaction.
do $$
declare
    y integer;
    last integer;
begin
    for y in extract(year from now())::integer .. extract(year from now())::integer + 30 loop
        execute format('create sequence if not exists %I as integer', 'appeal_number_' || y);
        select c.last into last from appeal_counters c where c.year = y;
        if last is not null then
            perform setval('appeal_number_' || y, last);
        end if;
    end loop;
end
$$;

---------------------------------------------------------------------------------------------
-- The appeal's own triggers, with the rules they missed.

create or replace function dialog_appeals_before_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if new.status <> 'новый' then
        raise exception 'Новое обращение создаётся в статусе «новый»' using errcode = 'DL001',
            hint = 'Сохраните обращение, затем назначьте исполнителя и смените статус.';
    end if;
    new.registered_at := now();
    new.received_at := coalesce(new.received_at, now());
    perform dialog_check_received(new.received_at, new.registered_at);
    new.number := dialog_next_number(new.registered_at);
    new.created_by := session_user;
    new.updated_by := session_user;
    new.updated_at := now();
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
            detail = old.number, hint = format('Вы сохраняли версию %s, а сейчас версия %s.', new.version, old.version);
    end if;
    if new.received_at <> old.received_at then
        perform dialog_check_received(new.received_at, old.registered_at);
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
    if exists (select 1 from appeals where joined_to = new.id)
        and (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id) then
        raise exception 'К обращению % присоединены другие: сначала отсоедините их', old.number using errcode = 'DL007';
    end if;
    return new;
end
$$;

---------------------------------------------------------------------------------------------
-- The change stream. Each change of an appeal (its fields, executors, comments, files, calls)
-- is one row here; the notification carries only the row's number, so a listener learns
-- nothing it may not read, and a forged notification costs one cheap read. A client that
-- missed notifications (a dropped connection) reads every change since the last it saw.

create table appeal_changes (
    seq bigint generated always as identity primary key,
    at timestamptz not null default clock_timestamp(),
    appeal_id uuid not null,
    organization_id uuid,
    op text not null,
    version integer
);
create index appeal_changes_at_idx on appeal_changes (at);

-- How long changes are kept for clients that come back after a gap; one that was away longer
-- reloads everything it shows.
create function dialog_change_retention() returns interval
language sql immutable
return interval '1 day';

create function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    s bigint;
begin
    insert into appeal_changes (appeal_id, organization_id, op, version)
        select a.id, a.organization_id, p_op, a.version from appeals a where a.id = p_appeal
        returning seq into s;
    if s is null then
        return;
    end if;
    if s % 1000 = 0 then
        delete from appeal_changes where at < now() - dialog_change_retention();
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
revoke all on function dialog_announce(uuid, text) from public;

create or replace function dialog_appeals_after_change() returns trigger
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
    perform dialog_announce(new.id, lower(tg_op));
    return null;
end
$$;

create or replace function dialog_history_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if new.action in ('comment', 'attachment', 'call') then
        perform dialog_announce(new.appeal_id, new.action);
    end if;
    return null;
end
$$;

alter table appeal_history drop constraint appeal_history_action_check;
alter table appeal_history add constraint appeal_history_action_check check (
    action in ('created', 'changed', 'status', 'comment', 'assigned', 'unassigned', 'joined', 'unjoined', 'attachment', 'call')
);

-- Where the stream stands now: a client starts reading after it.
create function dialog_changes_head() returns bigint
language sql stable security definer set search_path = public, pg_temp
return (select coalesce(max(seq), 0) from appeal_changes);

-- The changes after `p_after` (and the numbers in `p_holes`, which a reader saw skipped and
-- still waits for) that this person may see, in order; at most `p_limit`. A reader whose
-- `p_after` is older than what is kept (or ahead of the stream, after a restore) gets one row
-- with `gap` = true and the stream's head: it reloads everything it shows and reads on from
-- there.
create function dialog_changes_since(p_after bigint, p_holes bigint[], p_limit integer)
returns table (seq bigint, appeal_id uuid, number text, version integer, op text, gap boolean)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
    v_first bigint := (select min(c.seq) from appeal_changes c);
    v_head bigint := dialog_changes_head();
begin
    if (v_first is not null and p_after + 1 < v_first) or p_after > v_head then
        return query select v_head, null::uuid, null::text, null::integer, 'gap'::text, true;
        return;
    end if;
    -- Changes the person may not see come as bare numbers, so that the reader does not wait
    -- for them as for missing ones.
    return query
        select c.seq,
               case when v_scope is null or c.organization_id = v_scope then c.appeal_id end,
               case when v_scope is null or c.organization_id = v_scope then a.number end,
               case when v_scope is null or c.organization_id = v_scope then c.version end,
               case when v_scope is null or c.organization_id = v_scope then c.op else 'hidden' end,
               false
        from appeal_changes c left join appeals a on a.id = c.appeal_id
        where c.seq > p_after or c.seq = any(coalesce(p_holes, '{}'))
        order by c.seq limit least(greatest(p_limit, 1), 10000);
end
$$;

---------------------------------------------------------------------------------------------
-- Reading appeals: the same functions for everyone, each showing only what the person may
-- see. They run as the owner, so the planner has the table's statistics (a common surname
-- walks the date index), and a manager's EXPLAIN sees only a function call.

-- A person may see this appeal.
create function dialog_sees(p_org uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp
return (select s is null or p_org = s from dialog_scope() s);

create function dialog_appeals_by_id(p_ids uuid[]) returns setof appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select a.* from appeals a
        where a.id = any(p_ids) and (v_scope is null or a.organization_id = v_scope);
end
$$;

create function dialog_appeal_id_by_number(p_number text) returns uuid
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return (select a.id from appeals a where a.number = p_number and (v_scope is null or a.organization_id = v_scope));
end
$$;

-- When an executor of an appeal was told: the first answered, recorded outgoing call to them
-- since they were assigned. The one definition of «оповещён».
create function dialog_executor_notified_at(p_appeal uuid, p_executor uuid, p_assigned timestamptz) returns timestamptz
language sql stable security definer set search_path = public, pg_temp
return (
    select min(c.started_at) from calls c
    where c.executor_id = p_executor and c.direction = 'исходящий'
      and c.started_at >= p_assigned and c.answered_at is not null and c.recording is not null
      and (c.appeal_id is null or c.appeal_id = p_appeal)
);
revoke all on function dialog_executor_notified_at(uuid, uuid, timestamptz) from public;

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

create function dialog_appeal_executors(p_appeal uuid)
returns table (executor_id uuid, full_name text, phones text[], assigned_at timestamptz, notified boolean)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not exists (select 1 from dialog_appeals_by_id(array[p_appeal])) then
        return;
    end if;
    return query
        select ae.executor_id, e.full_name, e.phones, ae.assigned_at,
               dialog_executor_notified_at(ae.appeal_id, ae.executor_id, ae.assigned_at) is not null
        from appeal_executors ae join executors e on e.id = ae.executor_id
        where ae.appeal_id = p_appeal order by ae.assigned_at, ae.executor_id;
end
$$;

create function dialog_appeal_history(p_appeal uuid)
returns table (at timestamptz, actor text, actor_name text, action text, before jsonb, after jsonb, comment text)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not exists (select 1 from dialog_appeals_by_id(array[p_appeal])) then
        return;
    end if;
    return query
        select h.at, h.actor, s.full_name, h.action, h.before, h.after, h.comment
        from appeal_history h left join staff s on s.login = h.actor
        where h.appeal_id = p_appeal order by h.id;
end
$$;

create function dialog_joined_group(p_appeal uuid) returns setof uuid
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
    root uuid;
begin
    select coalesce(a.joined_to, a.id) into root from appeals a
        where a.id = p_appeal and (v_scope is null or a.organization_id = v_scope);
    if root is null then
        return;
    end if;
    return query select a.id from appeals a
        where (a.id = root or a.joined_to = root) and (v_scope is null or a.organization_id = v_scope)
        order by a.received_at;
end
$$;

create function dialog_appeal_files(p_appeal uuid)
returns table (id uuid, appeal_id uuid, file_name text, mime text, size integer, uploaded_by text, uploaded_at timestamptz)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not exists (select 1 from dialog_appeals_by_id(array[p_appeal])) then
        return;
    end if;
    return query select t.id, t.appeal_id, t.file_name, t.mime, t.size, t.uploaded_by, t.uploaded_at
        from attachments t where t.appeal_id = p_appeal order by t.uploaded_at, t.id;
end
$$;

create function dialog_file(p_id uuid) returns table (file_name text, mime text, content bytea)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select t.file_name, t.mime, t.content from attachments t join appeals a on a.id = t.appeal_id
        where t.id = p_id and (v_scope is null or a.organization_id = v_scope);
end
$$;

-- A call as lists show it, without its recording.
create type dialog_call_row as (
    id uuid, direction call_direction, from_number text, to_number text, started_at timestamptz,
    answered_at timestamptz, ended_at timestamptz, operator_login text, appeal_id uuid, executor_id uuid,
    recording_codec text, recording_size integer, organization_id uuid, appeal_number text
);

create function dialog_call_row(c calls) returns dialog_call_row
language sql stable security definer set search_path = public, pg_temp
return row(c.id, c.direction, c.from_number, c.to_number, c.started_at, c.answered_at, c.ended_at,
    c.operator_login, c.appeal_id, c.executor_id, c.recording_codec, octet_length(c.recording), c.organization_id,
    (select a.number from appeals a where a.id = c.appeal_id))::dialog_call_row;
revoke all on function dialog_call_row(calls) from public;

-- Calls about an appeal, and calls to its executors since they were assigned.
create function dialog_appeal_calls(p_appeal uuid) returns setof dialog_call_row
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not exists (select 1 from dialog_appeals_by_id(array[p_appeal])) then
        return;
    end if;
    return query select (dialog_call_row(c)).* from calls c
        where c.appeal_id = p_appeal
           or (c.appeal_id is null and exists (select 1 from appeal_executors ae where ae.appeal_id = p_appeal
               and ae.executor_id = c.executor_id and c.started_at >= ae.assigned_at))
        order by c.started_at;
end
$$;

-- The recordings registry, newest first.
create function dialog_calls(
    p_from timestamptz, p_to timestamptz, p_digits text, p_operator text, p_direction call_direction, p_limit integer
) returns setof dialog_call_row
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
    pattern text := case when p_digits is not null then '%' || p_digits || '%' end;
begin
    return query select (dialog_call_row(c)).* from calls c
        where (v_scope is null or c.organization_id = v_scope)
          and (p_from is null or c.started_at >= p_from)
          and (p_to is null or c.started_at < p_to)
          and (pattern is null or c.from_number like pattern or c.to_number like pattern)
          and (p_operator is null or c.operator_login = p_operator)
          and (p_direction is null or c.direction = p_direction)
        order by c.started_at desc, c.id desc
        limit least(greatest(p_limit, 1), 500);
end
$$;

create function dialog_recording(p_call uuid) returns table (recording bytea, codec text)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select c.recording, c.recording_codec from calls c
        where c.id = p_call and c.recording is not null and (v_scope is null or c.organization_id = v_scope);
end
$$;

-- The registry.
create type dialog_registry_row as (
    id uuid, number text, received_at timestamptz, channel appeal_channel, identifier text,
    applicant_name text, contacts text, address text, kind_name text, appeal_type appeal_type,
    priority appeal_priority, status appeal_status, progress smallint, comment text,
    control_at timestamptz, overdue boolean, notified_at timestamptz, executor_names text[],
    executor_ids uuid[], attachment_kinds text[], has_recording boolean, joined_to uuid,
    joined_count bigint, version integer
);

-- How long before its deadline an appeal counts as «срок истекает».
create function dialog_deadline_soon() returns interval
language sql immutable
return interval '60 minutes';

-- The conditions of a registry filter (dialog-core's RegistryFilter, as JSON) over appeals
-- `a`, with the quick-search text already turned into LIKE patterns (`p_patterns`, written
-- into the statement so that the planner weighs each word) or buildings (searched one by one
-- by the caller). The other values are the parameters $1…$13 of the callers' statements.
-- A registry filter (dialog-core's RegistryFilter), as the registry functions take it: the
-- quick-search text already turned into LIKE patterns (`patterns`) or buildings (`buildings`,
-- searched one by one).
create type dialog_filter as (
    types appeal_type[], statuses appeal_status[], priorities appeal_priority[], kind_ids uuid[],
    organization_ids uuid[], executor_ids uuid[], building_id uuid, identifier text,
    received_from timestamptz, received_to timestamptz, quick text, patterns text[], buildings uuid[]
);

-- The conditions of a filter over appeals `a`. The values are the parameters $1 (the filter)
-- and $2 (the organization a manager is kept to) of the callers' statements; the LIKE
-- patterns are written into the statement so that the planner weighs each word.
create function dialog_registry_where(f dialog_filter) returns text
language plpgsql immutable
as $$
declare
    w text := '($2::uuid is null or a.organization_id = $2)';
    p text;
begin
    if cardinality(f.types) > 0 then w := w || ' and a.appeal_type = any(($1).types)'; end if;
    if cardinality(f.statuses) > 0 then w := w || ' and a.status = any(($1).statuses)'; end if;
    if cardinality(f.priorities) > 0 then w := w || ' and a.priority = any(($1).priorities)'; end if;
    if cardinality(f.kind_ids) > 0 then w := w || ' and a.kind_id = any(($1).kind_ids)'; end if;
    if cardinality(f.organization_ids) > 0 then w := w || ' and a.organization_id = any(($1).organization_ids)'; end if;
    if cardinality(f.executor_ids) > 0 then
        w := w || ' and exists (select 1 from appeal_executors ae where ae.appeal_id = a.id and ae.executor_id = any(($1).executor_ids))';
    end if;
    if f.building_id is not null then w := w || ' and a.building_id = ($1).building_id'; end if;
    if f.identifier is not null then w := w || ' and a.identifier = ($1).identifier'; end if;
    if f.received_from is not null then w := w || ' and a.received_at >= ($1).received_from'; end if;
    if f.received_to is not null then w := w || ' and a.received_at < ($1).received_to'; end if;
    -- Written exactly as the partial indexes' predicates so the planner can use them.
    if f.quick = 'deadlineSoon' then
        w := w || ' and a.control_at is not null and a.control_at <= now() + dialog_deadline_soon()';
    elsif f.quick = 'executorNotNotified' then
        w := w || $w$ and a.status in ('новый', 'назначено') and a.appeal_type <> 'справка'$w$;
    end if;
    foreach p in array coalesce(f.patterns, '{}') loop
        w := w || format(' and a.search_text like %L', p);
    end loop;
    return w;
end
$$;

-- One page of the registry: `p_sort` is `receivedDesc`, `receivedAsc` or `deadline`; the page
-- starts after (`p_after_key`, `p_after_id`), the sort key and id of the last row seen.
create function dialog_registry(
    p_filter dialog_filter, p_sort text, p_after_key timestamptz, p_after_id uuid, p_limit integer
) returns setof dialog_registry_row
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
    key text := case when p_sort = 'deadline' then 'control_at' else 'received_at' end;
    dir text := case when p_sort = 'receivedDesc' or p_sort is null then 'desc' else 'asc' end;
    cmp text := case when p_sort = 'receivedDesc' or p_sort is null then '<' else '>' end;
    w text := dialog_registry_where(p_filter);
    page text;
begin
    if p_sort = 'deadline' then
        w := w || ' and a.control_at is not null';
    end if;
    if p_after_key is not null then
        w := w || format(' and (a.%I, a.id) %s ($3, $4)', key, cmp);
    end if;
    if p_filter.buildings is not null then
        -- One ordered index scan per building, merged: each stops after the page's rows.
        page := format('select b.* from unnest(($1).buildings) bid(id) cross join lateral (
                            select a.* from appeals a where %s and a.building_id = bid.id
                            order by a.%I %s, a.id %s limit $5) b
                        order by b.%I %s, b.id %s limit $5', w, key, dir, dir, key, dir, dir);
    else
        page := format('select a.* from appeals a where %s order by a.%I %s, a.id %s limit $5', w, key, dir, dir);
    end if;
    return query execute format($q$
        with page as (%s)
        select p.id, p.number, p.received_at, p.channel, p.identifier, p.applicant_name, p.contacts,
               p.address, k.name, p.appeal_type, p.priority, p.status, p.progress,
               left(p.comment, 300), p.control_at, coalesce(p.control_at < now(), false),
               p.notified_at,
               array(select e.full_name from appeal_executors ae join executors e on e.id = ae.executor_id
                     where ae.appeal_id = p.id order by ae.assigned_at, ae.executor_id),
               array(select ae.executor_id from appeal_executors ae
                     where ae.appeal_id = p.id order by ae.assigned_at, ae.executor_id),
               array(select distinct split_part(t.mime, '/', 1) from attachments t where t.appeal_id = p.id),
               exists (select 1 from calls c where c.appeal_id = p.id and c.recording is not null),
               p.joined_to,
               (select count(*) from appeals j where j.id = coalesce(p.joined_to, p.id) or j.joined_to = coalesce(p.joined_to, p.id)),
               p.version
        from page p join appeal_kinds k on k.id = p.kind_id
        order by p.%I %s, p.id %s$q$, page, key, dir, dir)
    using p_filter, v_scope, p_after_key, p_after_id, least(greatest(coalesce(p_limit, 50), 1), 500)::bigint;
end
$$;

-- How many appeals match a filter, counted up to `p_cap` + 1.
create function dialog_registry_count(p_filter dialog_filter, p_cap bigint) returns bigint
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
    w text := dialog_registry_where(p_filter);
    n bigint;
begin
    if p_filter.buildings is not null then
        w := w || ' and a.building_id = any(($1).buildings)';
    end if;
    execute format('select count(*) from (select 1 from appeals a where %s limit $3) s', w) into n
        using p_filter, v_scope, least(greatest(coalesce(p_cap, 10000), 1), 100000) + 1;
    return n;
end
$$;

-- Executors with the number of appeals in their work, for the contacts list.
create function dialog_executor_load() returns table (executor_id uuid, in_work bigint)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select ae.executor_id, count(*) from appeal_executors ae join appeals a on a.id = ae.appeal_id
        where a.status in ('назначено', 'в работе') and (v_scope is null or a.organization_id = v_scope)
        group by ae.executor_id;
end
$$;

-- What reports read: the appeals received in a period, the calls started in it, the
-- executors of those appeals; of one organization when `p_org` is given, and never beyond
-- what the person may see.
create function dialog_report_appeals(p_from timestamptz, p_to timestamptz, p_org uuid) returns setof appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select a.* from appeals a
        where a.received_at >= p_from and a.received_at < p_to
          and (p_org is null or a.organization_id = p_org)
          and (v_scope is null or a.organization_id = v_scope);
end
$$;

create function dialog_report_assignments(p_from timestamptz, p_to timestamptz, p_org uuid)
returns table (appeal_id uuid, executor_id uuid, assigned_at timestamptz)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    return query select ae.appeal_id, ae.executor_id, ae.assigned_at
        from dialog_report_appeals(p_from, p_to, p_org) a join appeal_executors ae on ae.appeal_id = a.id;
end
$$;

create function dialog_report_calls(p_from timestamptz, p_to timestamptz, p_org uuid) returns setof dialog_call_row
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select (dialog_call_row(c)).* from calls c
        where c.started_at >= p_from and c.started_at < p_to
          and (p_org is null or c.organization_id = p_org)
          and (v_scope is null or c.organization_id = v_scope);
end
$$;

-- The live dashboard's counts. Managers get their organization's appeals and the center's
-- line counts (how many operators are on the line, not who).
create function dialog_dashboard(p_line_stale interval)
returns table (today_types appeal_type[], today_counts bigint[], overdue_now bigint, not_notified bigint, live bigint,
               calls_waiting bigint, operators_on_line bigint, operators_talking bigint)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    v_scope uuid := dialog_scope();
begin
    return query select
        t.types, t.counts,
        l.overdue_now, l.not_notified, l.live, p.calls_waiting, p.on_line, p.talking
    from (select array_agg(t.appeal_type order by t.appeal_type) as types, array_agg(t.n order by t.appeal_type) as counts
          from (select e.appeal_type, count(a.id) as n
               from unnest(enum_range(null::appeal_type)) e(appeal_type)
               left join appeals a on a.appeal_type = e.appeal_type and a.received_at >= date_trunc('day', now())
                    and (v_scope is null or a.organization_id = v_scope)
               group by e.appeal_type) t) t,
         (select count(*) filter (where a.control_at < now()) as overdue_now,
                 count(*) filter (where a.status in ('новый', 'назначено') and a.appeal_type <> 'справка') as not_notified,
                 count(*) as live
          from appeals a where a.status in ('новый', 'назначено', 'в работе')
               and (v_scope is null or a.organization_id = v_scope)) l,
         (select coalesce(sum(ringing), 0)::bigint as calls_waiting, count(*) as on_line,
                 count(*) filter (where talking > 0) as talking
          from phone_lines where registered and updated_at > now() - p_line_stale) p;
end
$$;

---------------------------------------------------------------------------------------------
-- Writing appeals. Every function checks that the session is staff, locks what it changes in
-- a fixed order and gives up after a few seconds rather than waiting on someone else's open
-- transaction.

-- Locks the appeal and checks the version the person read.
create function dialog_lock_appeal(p_id uuid, p_version integer) returns appeals
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    a appeals;
begin
    select * into a from appeals where id = p_id for update;
    if not found then
        raise exception 'Обращение не найдено' using errcode = 'DL015', hint = 'Возможно, его номер изменился: найдите его в реестре.';
    end if;
    if p_version is not null and a.version <> p_version then
        raise exception 'Обращение % изменил другой оператор — обновите карточку', a.number using errcode = 'DL008',
            detail = a.number, hint = format('Вы сохраняли версию %s, а сейчас версия %s.', p_version, a.version);
    end if;
    return a;
end
$$;
revoke all on function dialog_lock_appeal(uuid, integer) from public;

-- Applies a wanted set of executors and a status in the order the rules allow: executors are
-- added before `назначено`/`в работе`, and removed after leaving them. A card that gets its
-- first executor while `новый` becomes `назначено`; one that loses its last while `назначено`
-- goes back to `новый`.
create function dialog_apply_executors(p_id uuid, p_executors uuid[], p_status appeal_status) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    cur appeal_status := (select status from appeals where id = p_id);
    wanted appeal_status := coalesce(p_status, cur);
    ex uuid[] := coalesce(p_executors, '{}');
    e uuid;
begin
    if cur = 'новый' and wanted = 'новый' and cardinality(ex) > 0 then
        wanted := 'назначено';
    end if;
    if cur = 'назначено' and wanted = 'назначено' and cardinality(ex) = 0 then
        wanted := 'новый';
    end if;
    foreach e in array ex loop
        insert into appeal_executors (appeal_id, executor_id) values (p_id, e) on conflict do nothing;
    end loop;
    if wanted in ('назначено', 'в работе') then
        delete from appeal_executors where appeal_id = p_id and executor_id <> all(ex);
        update appeals set status = wanted where id = p_id and status <> wanted;
    else
        update appeals set status = wanted where id = p_id and status <> wanted;
        delete from appeal_executors where appeal_id = p_id and executor_id <> all(ex);
    end if;
end
$$;
revoke all on function dialog_apply_executors(uuid, uuid[], appeal_status) from public;

-- Locks the appeal that `p_id` is to join, before `p_id` itself when its id sorts first, so
-- two operators joining crosswise wait for each other instead of deadlocking; and re-checks
-- the join under the locks.
create function dialog_lock_join_target(p_target uuid) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    if p_target is not null then
        perform 1 from appeals where id = p_target for update;
    end if;
end
$$;
revoke all on function dialog_lock_join_target(uuid) from public;

-- Registers one reason of a card as an appeal. The id comes from the client: calling again
-- with the same id returns that appeal unchanged when it was registered with the same data
-- by the same person, and refuses a different card under the same id.
create function dialog_register_appeal(
    p_id uuid, p_received_at timestamptz, p_channel appeal_channel, p_identifier text, p_applicant text,
    p_contacts text, p_building uuid, p_apartment text, p_entrance text, p_floor text, p_address_note text,
    p_kind uuid, p_priority appeal_priority, p_comment text, p_executors uuid[], p_join_to uuid,
    p_status appeal_status
) returns uuid
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
declare
    existing appeals;
    want jsonb;
    had jsonb;
    v_constraint text;
begin
    perform dialog_require_staff();
    select * into existing from appeals where id = p_id;
    if found then
        select h.after into had from appeal_history h where h.appeal_id = p_id and h.action = 'created';
        want := jsonb_build_object('identifier', p_identifier, 'applicant_name', p_applicant, 'contacts', p_contacts,
            'building_id', p_building, 'address_note', p_address_note, 'kind_id', p_kind, 'comment', p_comment,
            'channel', p_channel);
        if existing.created_by = session_user and had @> want
            and (p_received_at is null or (had ->> 'received_at')::timestamptz = p_received_at) then
            return p_id;
        end if;
        raise exception 'Обращение % уже зарегистрировано с другими данными', existing.number using errcode = 'DL018',
            detail = existing.number, hint = 'Откройте его из реестра и внесите изменения там.';
    end if;
    perform dialog_lock_join_target(p_join_to);
    begin
        insert into appeals (id, received_at, channel, identifier, applicant_name, contacts, building_id, apartment,
                             entrance, floor, address_note, kind_id, priority, comment, number, appeal_type)
        values (p_id, p_received_at, p_channel, p_identifier, p_applicant, p_contacts, p_building, p_apartment,
                p_entrance, p_floor, p_address_note, p_kind, p_priority, p_comment, '', null);
    exception when unique_violation then
        -- The same card saved twice at once: the other save registered it.
        get stacked diagnostics v_constraint = constraint_name;
        if v_constraint <> 'appeals_pkey' then
            raise;
        end if;
        return dialog_register_appeal(p_id, p_received_at, p_channel, p_identifier, p_applicant, p_contacts,
            p_building, p_apartment, p_entrance, p_floor, p_address_note, p_kind, p_priority, p_comment,
            p_executors, p_join_to, p_status);
    end;
    -- Joined as a change of its own, so that the history says so.
    if p_join_to is not null then
        update appeals set joined_to = p_join_to where id = p_id;
    end if;
    if cardinality(p_executors) > 0 then
        perform dialog_apply_executors(p_id, p_executors, null);
    end if;
    if p_status is not null and p_status <> 'новый' then
        update appeals set status = p_status where id = p_id and status <> p_status;
    end if;
    return p_id;
end
$$;

-- Saves the card of an existing appeal read at `p_version`: fields, executors, join and
-- status at once.
create function dialog_save_appeal(
    p_id uuid, p_version integer, p_received_at timestamptz, p_channel appeal_channel, p_identifier text,
    p_applicant text, p_contacts text, p_building uuid, p_apartment text, p_entrance text, p_floor text,
    p_address_note text, p_kind uuid, p_priority appeal_priority, p_comment text, p_status appeal_status,
    p_executors uuid[], p_joined_to uuid
) returns void
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
begin
    perform dialog_require_staff();
    if p_joined_to is not null and p_joined_to < p_id then
        perform dialog_lock_join_target(p_joined_to);
    end if;
    perform dialog_lock_appeal(p_id, p_version);
    if p_joined_to is not null and p_joined_to > p_id then
        perform dialog_lock_join_target(p_joined_to);
    end if;
    update appeals set received_at = p_received_at, channel = p_channel, identifier = p_identifier,
        applicant_name = p_applicant, contacts = p_contacts, building_id = p_building, apartment = p_apartment,
        entrance = p_entrance, floor = p_floor, address_note = p_address_note, kind_id = p_kind,
        priority = p_priority, comment = p_comment, joined_to = p_joined_to
    where id = p_id;
    perform dialog_apply_executors(p_id, p_executors, p_status);
end
$$;

-- Moves appeals (each read at its version) to a status, all or none; locked in id order.
create function dialog_set_status(p_ids uuid[], p_versions integer[], p_status appeal_status) returns void
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
declare
    r record;
begin
    perform dialog_require_staff();
    if cardinality(p_ids) is distinct from cardinality(p_versions) then
        raise exception 'Для каждого обращения нужна его версия' using errcode = '22023';
    end if;
    for r in select u.id, u.v from unnest(p_ids, p_versions) u(id, v) order by u.id loop
        perform dialog_lock_appeal(r.id, r.v);
    end loop;
    update appeals set status = p_status where id = any(p_ids) and status <> p_status;
end
$$;

-- Adds or removes one executor of an appeal read at `p_version`.
create function dialog_assign(p_id uuid, p_version integer, p_executor uuid, p_assign boolean) returns void
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
declare
    ex uuid[];
begin
    perform dialog_require_staff();
    perform dialog_lock_appeal(p_id, p_version);
    ex := array(select executor_id from appeal_executors where appeal_id = p_id and executor_id <> p_executor);
    if p_assign then
        ex := ex || p_executor;
    end if;
    perform dialog_apply_executors(p_id, ex, null);
end
$$;

-- Joins an appeal read at `p_version` to another (null: unjoins).
create function dialog_join(p_id uuid, p_version integer, p_to uuid) returns void
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
begin
    perform dialog_require_staff();
    if p_to is not null and p_to < p_id then
        perform dialog_lock_join_target(p_to);
    end if;
    perform dialog_lock_appeal(p_id, p_version);
    if p_to is not null and p_to > p_id then
        perform dialog_lock_join_target(p_to);
    end if;
    update appeals set joined_to = p_to where id = p_id and joined_to is distinct from p_to;
end
$$;

create function dialog_add_comment(p_appeal uuid, p_text text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    if not exists (select 1 from appeals where id = p_appeal) then
        raise exception 'Обращение не найдено' using errcode = 'DL015';
    end if;
    insert into appeal_history (appeal_id, action, comment) values (p_appeal, 'comment', btrim(p_text));
end
$$;

create function dialog_add_attachment(p_id uuid, p_appeal uuid, p_file_name text, p_mime text, p_content bytea)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    if not exists (select 1 from appeals where id = p_appeal) then
        raise exception 'Обращение не найдено' using errcode = 'DL015';
    end if;
    perform dialog_check_quota(octet_length(p_content));
    insert into attachments (id, appeal_id, file_name, mime, content, uploaded_by, uploaded_at)
        values (p_id, p_appeal, btrim(p_file_name), lower(btrim(p_mime)), p_content, session_user, now());
end
$$;

-- A finished call, stored by the operator who made or took it. The end is the server's clock
-- at the moment it is stored (calls are stored as they end); the start and the answer keep
-- the durations the phone measured, at most a day each.
create function dialog_record_call(
    p_id uuid, p_direction call_direction, p_from text, p_to text, p_started_at timestamptz,
    p_answered_at timestamptz, p_ended_at timestamptz, p_appeal uuid, p_executor uuid,
    p_recording bytea, p_codec text
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
                       appeal_id, executor_id, recording, recording_codec)
    values (p_id, p_direction, p_from, p_to, ended - talk - ring,
            case when p_answered_at is not null then ended - talk end, ended, session_user,
            p_appeal, p_executor, p_recording, p_codec);
    if p_appeal is not null then
        insert into appeal_history (appeal_id, action, after)
            values (p_appeal, 'call', jsonb_build_object('call_id', p_id, 'direction', p_direction,
                'number', case when p_direction = 'исходящий' then p_to else p_from end));
    end if;
end
$$;

-- Links the operator's own call (say, answered before the card was saved) to an appeal, once.
create function dialog_link_call(p_call uuid, p_appeal uuid) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    c calls;
begin
    perform dialog_require_staff();
    select * into c from calls where id = p_call for update;
    if not found or c.operator_login <> session_user then
        raise exception 'Звонок не найден среди ваших' using errcode = 'DL019',
            hint = 'Привязать к обращению можно только свой звонок.';
    end if;
    if c.appeal_id = p_appeal then
        return;
    end if;
    if c.appeal_id is not null then
        raise exception 'Звонок уже привязан к другому обращению' using errcode = 'DL019';
    end if;
    if not exists (select 1 from appeals where id = p_appeal) then
        raise exception 'Обращение не найдено' using errcode = 'DL015';
    end if;
    update calls set appeal_id = p_appeal where id = p_call;
    insert into appeal_history (appeal_id, action, after)
        values (p_appeal, 'call', jsonb_build_object('call_id', p_call, 'direction', c.direction,
            'number', case when c.direction = 'исходящий' then c.to_number else c.from_number end));
end
$$;

-- The calls table's own trigger: only the organization is derived now (the functions set the
-- rest).
create or replace function dialog_calls_before_write() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    new.organization_id := coalesce(
        (select organization_id from appeals where id = new.appeal_id),
        (select organization_id from executors where id = new.executor_id)
    );
    return new;
end
$$;

---------------------------------------------------------------------------------------------
-- Filter templates: one's own and the shared ones. The owner is always who saved it first.

-- A template's filter must look like a registry filter: an object with the known keys only,
-- each holding the kind of JSON value it takes. Anything else would break the desktop of
-- everyone who sees it. (The app also leaves out a template it cannot read.)
create function dialog_valid_filter(f jsonb) returns boolean
language sql immutable
return jsonb_typeof(f) = 'object'
    and not exists (
        select 1 from jsonb_each(f) e(k, v)
        where case
            when e.k in ('types', 'statuses', 'priorities', 'kindIds', 'organizationIds', 'executorIds') then
                jsonb_typeof(e.v) <> 'array'
                or exists (select 1 from jsonb_array_elements(e.v) x
                           where jsonb_typeof(x) <> 'string' or length(x #>> '{}') > 64)
            when e.k in ('text', 'identifier', 'receivedFrom', 'receivedTo', 'quick', 'buildingId') then
                jsonb_typeof(e.v) not in ('string', 'null') or coalesce(length(e.v #>> '{}'), 0) > 500
            else true
        end
    );

delete from filter_templates where not dialog_valid_filter(filter);
alter table filter_templates add constraint filter_templates_filter_check check (dialog_valid_filter(filter));
alter table filter_templates add constraint filter_templates_name_length_check check (length(name) <= 100) not valid;

create function dialog_templates() returns setof filter_templates
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_scope();
    return query select t.* from filter_templates t
        where t.owner = session_user or t.shared
        order by t.shared, t.position, t.name;
end
$$;

create function dialog_save_template(p_id uuid, p_name text, p_shared boolean, p_filter jsonb, p_position integer)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    t filter_templates;
begin
    perform dialog_scope();
    if p_shared and not dialog_is_supervisor() then
        raise exception 'Общие шаблоны создаёт старший диспетчер — сохраните шаблон как личный'
            using errcode = '42501';
    end if;
    select * into t from filter_templates where id = p_id for update;
    if not found then
        insert into filter_templates (id, owner, name, shared, filter, position)
            values (p_id, session_user, btrim(p_name), p_shared, p_filter, p_position);
        return;
    end if;
    if not (t.owner = session_user or (t.shared and dialog_is_supervisor())) then
        raise exception 'Этот шаблон принадлежит другому сотруднику' using errcode = '42501';
    end if;
    -- Made private, a template lands on its owner's desktop: only the owner may do that.
    if t.owner <> session_user and not p_shared then
        raise exception 'Сделать общий шаблон личным может только его автор' using errcode = '42501';
    end if;
    update filter_templates set name = btrim(p_name), shared = p_shared, filter = p_filter, position = p_position
        where id = p_id;
end
$$;

create function dialog_delete_template(p_id uuid) returns boolean
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_scope();
    delete from filter_templates
        where id = p_id and (owner = session_user or (shared and dialog_is_supervisor()));
    return found;
end
$$;

---------------------------------------------------------------------------------------------
-- Phone lines: each person reports their own.

create function dialog_report_line(p_extension text, p_registered boolean, p_ringing integer, p_talking integer)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    insert into phone_lines (login, extension, registered, ringing, talking)
        values (session_user, p_extension, p_registered, p_ringing, p_talking)
    on conflict (login) do update set extension = excluded.extension, registered = excluded.registered,
        ringing = excluded.ringing, talking = excluded.talking;
end
$$;

create function dialog_clear_line() returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_scope();
    delete from phone_lines where login = session_user;
end
$$;

---------------------------------------------------------------------------------------------
-- Who may call what. Nothing is executable by default; each group gets what it needs.

revoke all on all functions in schema public from public;
grant execute on function
    dialog_my_role(), dialog_is_owner(), dialog_is_staff(), dialog_is_supervisor(), dialog_is_admin(), dialog_my_organization(),
    dialog_scope(), dialog_sees(uuid), dialog_require_staff(), dialog_require_admin(), dialog_check_verifier(text),
    dialog_set_password(text, text), dialog_norm(text), dialog_words(text[]), dialog_is_phone(text),
    dialog_are_phones(text[]), dialog_appeal_fields(appeals),
    dialog_appeal_search_text(text, text, text, text, text, text, text, text),
    similarity(text, text), show_trgm(text), word_similarity(text, text),
    dialog_changes_since(bigint, bigint[], integer), dialog_changes_head(),
    dialog_appeals_by_id(uuid[]), dialog_appeal_id_by_number(text), dialog_appeal_executors(uuid),
    dialog_appeal_history(uuid), dialog_joined_group(uuid), dialog_appeal_files(uuid), dialog_file(uuid),
    dialog_appeal_calls(uuid), dialog_calls(timestamptz, timestamptz, text, text, call_direction, integer),
    dialog_recording(uuid), dialog_registry(dialog_filter, text, timestamptz, uuid, integer),
    dialog_registry_count(dialog_filter, bigint), dialog_executor_load(),
    dialog_report_appeals(timestamptz, timestamptz, uuid), dialog_report_assignments(timestamptz, timestamptz, uuid),
    dialog_report_calls(timestamptz, timestamptz, uuid), dialog_dashboard(interval),
    dialog_templates(), dialog_save_template(uuid, text, boolean, jsonb, integer), dialog_delete_template(uuid),
    dialog_clear_line(), dialog_deadline_soon(), dialog_valid_filter(jsonb)
    to dialog_operator, dialog_manager;
grant execute on function
    dialog_register_appeal(uuid, timestamptz, appeal_channel, text, text, text, uuid, text, text, text, text, uuid,
        appeal_priority, text, uuid[], uuid, appeal_status),
    dialog_save_appeal(uuid, integer, timestamptz, appeal_channel, text, text, text, uuid, text, text, text, text,
        uuid, appeal_priority, text, appeal_status, uuid[], uuid),
    dialog_set_status(uuid[], integer[], appeal_status), dialog_assign(uuid, integer, uuid, boolean),
    dialog_join(uuid, integer, uuid), dialog_add_comment(uuid, text),
    dialog_add_attachment(uuid, uuid, text, text, bytea),
    dialog_record_call(uuid, call_direction, text, text, timestamptz, timestamptz, timestamptz, uuid, uuid, bytea, text),
    dialog_link_call(uuid, uuid), dialog_report_line(text, boolean, integer, integer)
    to dialog_operator;
grant execute on function
    dialog_create_person(text, text, staff_role, text, text, uuid), dialog_set_person_active(text, boolean),
    dialog_update_person(text, text, text, uuid), dialog_set_person_role(text, staff_role)
    to dialog_admin;

-- Functions made by later migrations are nobody's until granted.
alter default privileges revoke execute on functions from public;
