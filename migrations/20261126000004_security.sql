-- Who may do what. People log in as themselves; the four group roles carry the rights;
-- row-level security keeps a manager inside their own organization.

revoke all on all tables in schema public from public;
revoke all on all functions in schema public from public;
grant usage on schema public to dialog_operator, dialog_manager;

-- Helpers every person may call (the trigger functions run as their owner anyway).
grant execute on function dialog_norm(text), dialog_words(text[]), dialog_is_phone(text), dialog_are_phones(text[]),
    dialog_my_organization(), dialog_is_supervisor(), dialog_appeal_fields(appeals),
    dialog_appeal_search_text(text, text, text, text, text, text, text, text)
    to dialog_operator, dialog_manager;
-- pg_trgm's functions live in public too.
grant execute on function similarity(text, text), show_trgm(text), word_similarity(text, text)
    to dialog_operator, dialog_manager;

-- Directories: everyone reads, admins write.
grant select on organizations, buildings, appeal_kinds, executors, executor_kinds, executor_buildings,
    staff, kb_articles, building_prices, schedules
    to dialog_operator, dialog_manager;
grant insert, update, delete on organizations, buildings, appeal_kinds, executors, executor_kinds,
    executor_buildings, kb_articles, building_prices, schedules
    to dialog_admin;

-- Appeals: operators register and work them; nobody deletes (cancel instead).
grant select, insert, update on appeals to dialog_operator;
grant select, insert, delete on appeal_executors to dialog_operator;
grant select, insert on appeal_history, attachments to dialog_operator;
grant select, insert on calls to dialog_operator;
grant update (appeal_id) on calls to dialog_operator;
grant select on appeals, appeal_executors, appeal_history, attachments, calls to dialog_manager;
grant select, insert, update, delete on filter_templates to dialog_operator, dialog_manager;

alter table appeals enable row level security;
alter table appeal_executors enable row level security;
alter table appeal_history enable row level security;
alter table attachments enable row level security;
alter table calls enable row level security;
alter table filter_templates enable row level security;

create policy appeals_staff on appeals to dialog_operator using (true) with check (true);
create policy appeals_manager on appeals for select to dialog_manager
    using (organization_id = (select dialog_my_organization()));

create policy appeal_executors_staff on appeal_executors to dialog_operator using (true) with check (true);
create policy appeal_executors_manager on appeal_executors for select to dialog_manager
    using (exists (select 1 from appeals a where a.id = appeal_id));

-- History: read by whoever sees the appeal; people add only their own comments.
create policy appeal_history_read on appeal_history for select to dialog_operator using (true);
create policy appeal_history_comment on appeal_history for insert to dialog_operator
    with check (action = 'comment' and actor = session_user);
create policy appeal_history_manager on appeal_history for select to dialog_manager
    using (exists (select 1 from appeals a where a.id = appeal_id));

create policy attachments_staff on attachments to dialog_operator using (true) with check (uploaded_by = session_user);
create policy attachments_manager on attachments for select to dialog_manager
    using (exists (select 1 from appeals a where a.id = appeal_id));

create policy calls_staff_read on calls for select to dialog_operator using (true);
create policy calls_staff_insert on calls for insert to dialog_operator with check (operator_login = session_user);
create policy calls_staff_link on calls for update to dialog_operator using (true) with check (true);
create policy calls_manager on calls for select to dialog_manager
    using (organization_id = (select dialog_my_organization()));

create policy filter_templates_read on filter_templates for select using (owner = session_user or shared);
create policy filter_templates_write on filter_templates for insert
    with check (owner = session_user and (not shared or dialog_is_supervisor()));
create policy filter_templates_update on filter_templates for update
    using (owner = session_user or (shared and dialog_is_supervisor()))
    with check (not shared or dialog_is_supervisor());
create policy filter_templates_delete on filter_templates for delete
    using (owner = session_user or (shared and dialog_is_supervisor()));

-- People. Passwords arrive as SCRAM-SHA-256 verifiers computed by the client, so the
-- plain password never reaches the server or its logs.
create function dialog_require_admin() returns void
language plpgsql stable
as $$
begin
    if not pg_has_role(session_user, 'dialog_admin', 'member') then
        raise exception 'Это может делать только администратор' using errcode = '42501';
    end if;
end
$$;

create function dialog_check_verifier(verifier text) returns void
language plpgsql immutable
as $$
begin
    if verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' then
        raise exception 'Пароль должен передаваться как хеш SCRAM-SHA-256' using errcode = 'DL011';
    end if;
end
$$;

create function dialog_create_person(
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
end
$$;

create function dialog_set_person_active(p_login text, p_active boolean) returns void
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
    if not p_active then
        perform pg_terminate_backend(pid) from pg_stat_activity where usename = p_login;
    end if;
end
$$;

create function dialog_set_password(p_login text, p_verifier text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
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

create function dialog_update_person(
    p_login text, p_full_name text, p_sip_extension text, p_organization_id uuid
) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_admin();
    update staff set full_name = p_full_name, sip_extension = nullif(btrim(p_sip_extension), ''),
        organization_id = p_organization_id
    where login = p_login;
    if not found then
        raise exception 'Сотрудник «%» не найден', p_login using errcode = 'DL015';
    end if;
end
$$;

revoke all on function dialog_create_person(text, text, staff_role, text, text, uuid),
    dialog_set_person_active(text, boolean), dialog_update_person(text, text, text, uuid) from public;
grant execute on function dialog_create_person(text, text, staff_role, text, text, uuid),
    dialog_set_person_active(text, boolean), dialog_update_person(text, text, text, uuid)
    to dialog_admin;
revoke all on function dialog_set_password(text, text) from public;
grant execute on function dialog_set_password(text, text) to dialog_operator, dialog_manager;
grant execute on function dialog_require_admin(), dialog_check_verifier(text) to dialog_operator, dialog_manager;
