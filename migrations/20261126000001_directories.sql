-- Dictionaries of the center: organizations, buildings, appeal kinds, executors, staff.
-- Every object is owned by the role that runs `dialog-admin migrate`; people log in
-- with their own roles and get their rights through the four group roles below.

create extension if not exists pg_trgm;

do $$
begin
    -- pg_trgm and lower() classify letters by the database's LC_CTYPE; under "C" Cyrillic
    -- words would produce no trigrams and search would silently find nothing.
    if show_trgm('ленина') = '{}'::text[] then
        raise exception 'База данных создана с локалью %, в которой кириллица не считается буквами', current_setting('lc_ctype')
            using hint = 'Создайте базу с LC_CTYPE C.UTF-8 или ru_RU.UTF-8: createdb --locale=C.UTF-8 --template=template0 ...';
    end if;
end
$$;

-- Group roles are cluster-wide, so several Dialog databases in one cluster share them, and
-- two databases may be migrated at the same moment: losing that race is fine.
do $$
declare
    r text;
begin
    foreach r in array array['dialog_operator', 'dialog_supervisor', 'dialog_manager', 'dialog_admin'] loop
        begin
            if not exists (select 1 from pg_roles where rolname = r) then
                execute format('create role %I nologin', r);
            end if;
        exception when duplicate_object or unique_violation then null;
        end;
    end loop;
    begin
        if not pg_has_role('dialog_supervisor', 'dialog_operator', 'member') then
            grant dialog_operator to dialog_supervisor;
        end if;
        if not pg_has_role('dialog_admin', 'dialog_supervisor', 'member') then
            grant dialog_supervisor to dialog_admin;
        end if;
    exception when duplicate_object or unique_violation then null;
    end;
end
$$;

create type appeal_type as enum ('авария', 'жалоба', 'справка', 'заявка');
create type appeal_priority as enum ('низкий', 'средний', 'критический');
create type appeal_status as enum ('новый', 'назначено', 'в работе', 'отработано', 'закрыто', 'отменено');
create type appeal_channel as enum ('телефон', 'e-mail', 'письмо', 'сайт', 'личный приём');
create type staff_role as enum ('operator', 'supervisor', 'manager', 'admin');
create type call_direction as enum ('входящий', 'исходящий');

-- Text as search sees it: lower case, ё as е, words separated by single spaces, padded with
-- spaces so that a pattern '% 10%' means "a word starting with 10". Explicit Cyrillic
-- mapping keeps it independent of the collation, hence honestly immutable.
create function dialog_norm(t text) returns text
language sql immutable parallel safe
return ' ' || btrim(regexp_replace(
    translate(lower(coalesce(t, '')),
        'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯё',
        'абвгдеежзийклмнопрстуфхцчшщъыьэюяе'),
    '[^0-9a-zа-я]+', ' ', 'g')) || ' ';

-- E.164 as stored everywhere: '+' and 7 to 15 digits.
create function dialog_is_phone(t text) returns boolean
language sql immutable parallel safe
return t ~ '^\+[1-9][0-9]{6,14}$';

-- array_to_string is only stable in general; for text[] it cannot depend on settings.
create function dialog_words(a text[]) returns text
language sql immutable parallel safe
return array_to_string(a, ' ');

create function dialog_are_phones(a text[]) returns boolean
language sql immutable parallel safe
return coalesce((select bool_and(dialog_is_phone(p)) from unnest(a) p), true);

create table organizations (
    id uuid primary key,
    name text not null,
    phone text,
    created_at timestamptz not null default now(),
    constraint organizations_name_key unique (name),
    constraint organizations_name_check check (btrim(name) <> ''),
    constraint organizations_phone_check check (phone is null or dialog_is_phone(phone))
);

create table buildings (
    id uuid primary key,
    organization_id uuid not null constraint buildings_organization_fkey references organizations,
    city text not null,
    street text not null,
    house text not null,
    block text not null default '',
    address text generated always as (
        city || ', ' || street || ', д. ' || house || case when block <> '' then ', корп. ' || block else '' end
    ) stored,
    search_text text generated always as (dialog_norm(city || ' ' || street || ' ' || house || ' ' || block)) stored,
    constraint buildings_address_key unique (city, street, house, block),
    constraint buildings_parts_check check (btrim(city) <> '' and btrim(street) <> '' and btrim(house) <> '')
);
create index buildings_search_idx on buildings using gin (search_text gin_trgm_ops);
create index buildings_organization_idx on buildings (organization_id);

create table appeal_kinds (
    id uuid primary key,
    name text not null,
    appeal_type appeal_type not null,
    default_priority appeal_priority not null,
    -- Minutes from registration: localisation of an accident, and resolution. Null means
    -- "immediately / by agreement", as the note says.
    localize_minutes integer,
    resolve_minutes integer,
    deadline_note text not null default '',
    keywords text[] not null default '{}',
    source text not null default '',
    active boolean not null default true,
    search_text text generated always as (dialog_norm(name || ' ' || dialog_words(keywords))) stored,
    constraint appeal_kinds_name_key unique (name),
    constraint appeal_kinds_name_check check (btrim(name) <> ''),
    constraint appeal_kinds_minutes_check check (coalesce(localize_minutes, 1) > 0 and coalesce(resolve_minutes, 1) > 0)
);
create index appeal_kinds_search_idx on appeal_kinds using gin (search_text gin_trgm_ops);

create table executors (
    id uuid primary key,
    full_name text not null,
    position text not null default '',
    phones text[] not null default '{}',
    organization_id uuid not null constraint executors_organization_fkey references organizations,
    active boolean not null default true,
    constraint executors_full_name_check check (btrim(full_name) <> ''),
    constraint executors_phones_check check (dialog_are_phones(phones))
);
create index executors_phones_idx on executors using gin (phones);
create index executors_organization_idx on executors (organization_id);

create table executor_kinds (
    executor_id uuid not null constraint executor_kinds_executor_fkey references executors on delete cascade,
    kind_id uuid not null constraint executor_kinds_kind_fkey references appeal_kinds on delete cascade,
    primary key (executor_id, kind_id)
);
create index executor_kinds_kind_idx on executor_kinds (kind_id);

create table executor_buildings (
    executor_id uuid not null constraint executor_buildings_executor_fkey references executors on delete cascade,
    building_id uuid not null constraint executor_buildings_building_fkey references buildings on delete cascade,
    primary key (executor_id, building_id)
);
create index executor_buildings_building_idx on executor_buildings (building_id);

-- One row per person; `login` is the name of their PostgreSQL LOGIN role.
create table staff (
    login text primary key,
    full_name text not null,
    role staff_role not null,
    sip_extension text,
    organization_id uuid constraint staff_organization_fkey references organizations,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    constraint staff_login_check check (login ~ '^[a-z][a-z0-9_.-]{2,62}$'),
    constraint staff_full_name_check check (btrim(full_name) <> ''),
    constraint staff_manager_organization_check check (role <> 'manager' or organization_id is not null),
    constraint staff_sip_extension_key unique (sip_extension)
);

-- The organization of the person logged in; null for everyone but managers.
create function dialog_my_organization() returns uuid
language sql stable security definer set search_path = public, pg_temp
return (select organization_id from staff where login = session_user and role = 'manager');

create function dialog_is_supervisor() returns boolean
language sql stable
return pg_has_role(session_user, 'dialog_supervisor', 'member');
