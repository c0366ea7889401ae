-- Work that grew with the size of a statement, where it should grow with its rows.
--
-- An executor's checks looked each new row's appeal up by a join the planner was free to turn
-- round. While the appeals had no statistics yet (a new database, a load), it sometimes judged
-- that few appeals would pass the filter and read every appeal by its key, scanning all the new
-- rows for each: 15–30 s for an assignment of ten thousand appeals instead of 1.4 s. Each new
-- row now looks up its own appeal and executor (a lateral subquery the planner keeps as it is),
-- in one pass for the four checks. The checks and their order are those of
-- …28_assigned_by_trigger.sql: a missing address is reported before an inactive executor, and
-- so on, each for the earliest assignment that breaks it. The removal of an executor looks its
-- appeals up the same way.
--
-- The change stream was cleared of what is older than its retention every thousand changes,
-- and a transaction that wrote many (a load's step, a big save) cleared it many times. What a
-- transaction deletes stays in the index until it ends, so each clearing read again all that
-- the ones before it had deleted. It is now cleared at most once a transaction.

-- As in …28_assigned_by_trigger.sql, with the checks in one pass over the new rows.
create or replace function dialog_appeal_executors_added() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select (array_agg(a.number order by n.assigned_at) filter (where a.building_id is null))[1] as no_address,
           (array_agg(e.full_name order by n.assigned_at) filter (where not e.active))[1] as inactive,
           (array_agg(array[e.full_name, a.address] order by n.assigned_at)
                filter (where not (a.serves_kind and a.serves_building)))[1:1] as stranger,
           (array_agg(a.number order by n.assigned_at)
                filter (where a.status not in ('новый', 'назначено', 'в работе')))[1] as finished
      into r
    from new_rows n
    cross join lateral (
        select x.number, x.building_id, x.status, x.address,
               exists (select 1 from executor_kinds k where k.executor_id = n.executor_id and k.kind_id = x.kind_id)
                   as serves_kind,
               exists (select 1 from executor_buildings b where b.executor_id = n.executor_id
                                                             and b.building_id = x.building_id) as serves_building
        from appeals x where x.id = n.appeal_id
        offset 0) a
    cross join lateral (select x.full_name, x.active from executors x where x.id = n.executor_id offset 0) e;
    if r.no_address is not null then
        raise exception 'Чтобы назначить исполнителя, укажите адрес обращения %', r.no_address using errcode = 'DL002';
    end if;
    if r.inactive is not null then
        raise exception 'Исполнитель % не работает', r.inactive using errcode = 'DL005',
            hint = 'Выберите другого исполнителя.';
    end if;
    if r.stranger is not null then
        raise exception 'Исполнитель % не обслуживает этот вид обращения по адресу %', r.stranger[1][1], r.stranger[1][2]
            using errcode = 'DL005', hint = 'Выберите исполнителя из списка обслуживающих этот адрес.';
    end if;
    if r.finished is not null then
        raise exception 'Обращение % уже отработано: исполнителя не назначить', r.finished using errcode = 'DL001';
    end if;
    insert into appeal_history (appeal_id, action, after, at, actor)
    select n.appeal_id, 'assigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name),
           n.assigned_at, n.assigned_by
    from new_rows n join executors e on e.id = n.executor_id
    order by n.assigned_at, n.appeal_id, n.executor_id;
    -- A new appeal given its first executor is «назначено»; any other gets a new version. Each
    -- appeal is stamped with its latest assignment's moment and person, as its history line.
    update appeals a
    set status = case when a.status = 'новый' then 'назначено'::appeal_status else a.status end,
        updated_at = n.at, updated_by = n.who
    from (select x.appeal_id, max(x.assigned_at) as at,
                 (array_agg(x.assigned_by order by x.assigned_at desc))[1] as who
          from new_rows x group by x.appeal_id) n
    where a.id = n.appeal_id;
    return null;
end
$$;

-- As in …28_assigned_by_trigger.sql, each removed row looking up its own appeal.
create or replace function dialog_appeal_executors_removed() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select a.number, a.status into r
    from (select distinct o.appeal_id from old_rows o) o
    cross join lateral (select x.id, x.number, x.status from appeals x where x.id = o.appeal_id offset 0) a
    where a.status in ('назначено', 'в работе')
      and not exists (select 1 from appeal_executors x where x.appeal_id = a.id)
    order by a.number limit 1;
    if found then
        raise exception 'Нельзя снять последнего исполнителя с обращения % в статусе «%»', r.number, r.status
            using errcode = 'DL002', hint = 'Сначала назначьте другого исполнителя или верните статус «новый».';
    end if;
    insert into appeal_history (appeal_id, action, before)
    select o.appeal_id, 'unassigned', jsonb_build_object('executor_id', e.id, 'executor', e.full_name)
    from old_rows o join executors e on e.id = o.executor_id
    order by o.appeal_id, o.executor_id;
    -- The appeal's new version, stamped now by who acts (it names both stamps).
    update appeals set (updated_at, updated_by) = (dialog_now(), dialog_actor())
    where id = any(array(select o.appeal_id from old_rows o));
    return null;
end
$$;

-- The change stream cleared of what is older than its retention, once a transaction at most
-- (dialog.changes_cleared is the transaction's own note that it has been).
create function dialog_clear_changes() returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    cutoff timestamptz;
begin
    if coalesce(current_setting('dialog.changes_cleared', true), '') = 'yes' then
        return;
    end if;
    perform set_config('dialog.changes_cleared', 'yes', true);
    cutoff := dialog_now() - dialog_change_retention();
    delete from appeal_changes c
    where c.seq in (select s.seq from appeal_changes s where s.at < cutoff for update skip locked);
end
$$;
revoke all on function dialog_clear_changes() from public;

-- As in …27_cheaper_writes.sql, the stream cleared by the above.
create or replace function dialog_announce(p_appeal uuid, p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    a record;
    seq bigint;
    hint text;
begin
    select x.id, x.organization_id, x.version, x.number into a from appeals x where x.id = p_appeal;
    if not found then
        return;
    end if;
    insert into appeal_changes (at, appeal_id, organization_id, op, version)
        values (dialog_clock_timestamp(), a.id, a.organization_id, p_op, a.version)
        returning appeal_changes.seq into seq;
    if seq % 1000 = 0 then
        perform dialog_clear_changes();
    end if;
    hint := json_build_object('seq', seq, 'id', a.id, 'number', a.number, 'version', a.version, 'op', p_op)::text;
    perform pg_notify(dialog_change_channel(null), hint);
    if a.organization_id is not null then
        perform pg_notify(dialog_change_channel(a.organization_id), hint);
    end if;
end
$$;

-- As in …27_cheaper_writes.sql, the stream cleared by the above.
create or replace function dialog_announce_many(p_appeals uuid[], p_op text) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off
set plan_cache_mode = force_generic_plan
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    all_channel text;
    first_seq bigint;
    last_seq bigint;
begin
    if cardinality(p_appeals) = 0 then
        return;
    end if;
    if cardinality(p_appeals) = 1 then
        perform dialog_announce(p_appeals[1], p_op);
        return;
    end if;
    all_channel := dialog_change_channel(null);
    with c as (
        insert into appeal_changes (at, appeal_id, organization_id, op, version)
        select dialog_clock_timestamp(), x.id, x.organization_id, p_op, x.version
        from unnest(p_appeals) with ordinality u(id, i) join appeals x on x.id = u.id
        order by u.i
        returning appeal_changes.seq, appeal_changes.appeal_id, appeal_changes.organization_id,
                  appeal_changes.version
    ), h as (
        select c.seq, c.organization_id,
               json_build_object('seq', c.seq, 'id', c.appeal_id,
                                 'number', (select x.number from appeals x where x.id = c.appeal_id),
                                 'version', c.version, 'op', p_op)::text as hint
        from c
    ), ch as (
        select o.organization_id, dialog_change_channel(o.organization_id) as name
        from (select distinct h.organization_id from h where h.organization_id is not null) o
    ), sent as (
        select h.seq, pg_notify(all_channel, h.hint) as a,
               case when ch.name is not null then pg_notify(ch.name, h.hint) end as o
        from h left join ch on ch.organization_id = h.organization_id
        order by h.seq
    )
    select min(sent.seq), max(sent.seq) into first_seq, last_seq from sent;
    if last_seq / 1000 > (first_seq - 1) / 1000 then
        perform dialog_clear_changes();
    end if;
end
$$;
