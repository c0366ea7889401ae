-- A change's notification says what changed, to those who may know it.
--
-- Until now the notification on `dialog_changes` carried only the change's number, and every
-- listener read the change stream after it (at most every 200 ms): with 200 operators that
-- was a thousand reads a second, a quarter of a two-processor server. Now each change is
-- announced with what the screens need (its number in the stream, the appeal, its number,
-- version and what happened) on channels whose names only the database gives out:
--
-- * one for the people who see every appeal (operators, supervisors, admins);
-- * one for each organization, heard by its managers.
--
-- A channel's name is derived from a secret kept in a table nobody but the owner reads, so a
-- manager cannot name, and hear, another organization's channel. Anybody may NOTIFY on any
-- channel, so a listener takes a notification only as a hint: the screens refresh at once, and
-- the change stream, read every few seconds as before, stays the record that says what
-- happened and reports every gap.

create table change_channel_secret (
    secret text not null
);
alter table change_channel_secret enable row level security;
revoke all on change_channel_secret from public;
insert into change_channel_secret
    values (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));

-- The channel of those who see the appeals of organization `p_org` (null: every appeal).
create function dialog_change_channel(p_org uuid) returns text
language sql stable security definer set search_path = public, pg_temp
return (select 'dialog_changes_' || left(md5(s.secret || ':' || coalesce(p_org::text, 'all')), 24)
        from change_channel_secret s limit 1);
revoke all on function dialog_change_channel(uuid) from public;

-- The channel this person listens on.
create function dialog_my_change_channel() returns text
language sql stable security definer set search_path = public, pg_temp
return dialog_change_channel(dialog_scope());
grant execute on function dialog_my_change_channel() to dialog_operator, dialog_manager;

-- As in …21_demo_clock.sql, announcing on the channels above with what changed.
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    c appeal_changes;
    number text;
    hint text;
begin
    insert into appeal_changes (at, appeal_id, organization_id, op, version)
        select dialog_clock_timestamp(), a.id, a.organization_id, p_op, a.version from appeals a where a.id = p_appeal
        returning * into c;
    if c.seq is null then
        return;
    end if;
    if c.seq % 1000 = 0 then
        delete from appeal_changes where at < dialog_now() - dialog_change_retention();
    end if;
    select a.number into number from appeals a where a.id = p_appeal;
    hint := json_build_object('seq', c.seq, 'id', c.appeal_id, 'number', number, 'version', c.version, 'op', c.op)::text;
    perform pg_notify(dialog_change_channel(null), hint);
    if c.organization_id is not null then
        perform pg_notify(dialog_change_channel(c.organization_id), hint);
    end if;
end
$$;
