-- Each workstation's phone line as its softphone reports it. The supervisor's dashboard counts
-- the operators on the line and the incoming calls waiting across the center from it. A row
-- belongs to its person: nobody can report (or clear) another person's line, and the time is
-- the server's, so a line that stops reporting goes stale after two minutes.
create table phone_lines (
    login text primary key default session_user,
    extension text not null,
    registered boolean not null,
    ringing integer not null default 0,
    talking integer not null default 0,
    updated_at timestamptz not null default now(),
    constraint phone_lines_extension_check check (extension ~ '^[A-Za-z0-9+_.-]{1,40}$'),
    constraint phone_lines_counts_check check (ringing between 0 and 100 and talking between 0 and 100)
);

create function dialog_phone_line_stamp() returns trigger
language plpgsql set search_path = public, pg_temp as $$
begin
    new.login := session_user;
    new.updated_at := now();
    return new;
end
$$;
create trigger phone_lines_stamp before insert or update on phone_lines
for each row execute function dialog_phone_line_stamp();

alter table phone_lines enable row level security;
create policy phone_lines_read on phone_lines for select using (true);
create policy phone_lines_own_insert on phone_lines for insert to dialog_operator
    with check (login = session_user);
create policy phone_lines_own_update on phone_lines for update to dialog_operator
    using (login = session_user) with check (login = session_user);
create policy phone_lines_own_delete on phone_lines for delete to dialog_operator
    using (login = session_user);
grant select, insert, update, delete on phone_lines to dialog_operator;
grant select on phone_lines to dialog_manager;
