-- What surrounds the appeals on an operator's desk: saved filters, the knowledge base,
-- paid-service prices per building, work schedules.

create table filter_templates (
    id uuid primary key,
    owner text not null default session_user,
    name text not null,
    shared boolean not null default false,
    -- A serialized registry filter (dialog-core's RegistryFilter).
    filter jsonb not null,
    position integer not null default 0,
    created_at timestamptz not null default now(),
    constraint filter_templates_name_check check (btrim(name) <> ''),
    constraint filter_templates_owner_name_key unique (owner, name)
);

create table kb_articles (
    id uuid primary key,
    title text not null,
    body text not null,
    tags text[] not null default '{}',
    updated_at timestamptz not null default now(),
    updated_by text not null default session_user,
    search_vector tsvector generated always as (
        setweight(to_tsvector('russian', title), 'A')
        || setweight(to_tsvector('russian', dialog_words(tags)), 'B')
        || setweight(to_tsvector('russian', body), 'C')
    ) stored,
    constraint kb_articles_title_check check (btrim(title) <> '')
);
create index kb_articles_search_idx on kb_articles using gin (search_vector);

create table building_prices (
    id uuid primary key,
    building_id uuid not null constraint building_prices_building_fkey references buildings on delete cascade,
    service text not null,
    price numeric(12, 2) not null,
    unit text not null default 'шт.',
    note text not null default '',
    constraint building_prices_service_check check (btrim(service) <> ''),
    constraint building_prices_price_check check (price >= 0),
    constraint building_prices_service_key unique (building_id, service)
);

-- A shift or working hours of a person: an executor or a member of staff.
create table schedules (
    id uuid primary key,
    organization_id uuid constraint schedules_organization_fkey references organizations on delete cascade,
    executor_id uuid constraint schedules_executor_fkey references executors on delete cascade,
    staff_login text constraint schedules_staff_fkey references staff on delete cascade,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    note text not null default '',
    constraint schedules_person_check check ((executor_id is null) <> (staff_login is null)),
    constraint schedules_times_check check (ends_at > starts_at)
);
create index schedules_starts_idx on schedules (starts_at);
