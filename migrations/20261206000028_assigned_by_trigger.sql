-- Giving a new appeal its first executor makes it «назначено», in the database itself.
--
-- The rule was written twice: dialog_apply_executors (the card's save, the registration and
-- dialog_assign) moved the appeal with a second update after the executor's trigger had given
-- it a new version, and the demo loader did the same with a step of its own. Now the trigger
-- that records the assignment makes the step, in the one update it already made, so every
-- writer gets it and an assignment writes the appeal once instead of twice. The history is the
-- same: «назначен исполнитель», then the status line, each with the assignment's moment and
-- person (so a load that writes many assignments in one statement stamps each appeal with its
-- own). dialog_apply_executors still says which status the card asked for; when that is
-- «назначено» its own update finds nothing left to do.
--
-- A change a trigger of the database makes to an appeal now keeps the moment and person it
-- names (both, whenever it names a new moment); the trigger of a removed executor names now
-- and who acts, as they were stamped before.

-- As in …26_statement_history.sql, except that a change one of the database's own triggers
-- makes may name its moment and person (the executor's assignment's), instead of being
-- stamped with the statement's.
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
    -- A change one of the database's own triggers makes (one level down) carries the moment and
    -- the person of what caused it when it names a new moment: then it names both. Any other
    -- change is stamped now, by who acts.
    if pg_trigger_depth() < 2 or new.updated_at is not distinct from old.updated_at then
        new.updated_at := dialog_now();
        new.updated_by := dialog_actor();
    end if;
    -- Timestamps of the workflow are the database's to write.
    new.notified_at := old.notified_at;
    new.in_work_at := old.in_work_at;
    new.done_at := old.done_at;
    new.closed_at := old.closed_at;
    if (new.kind_id, new.received_at, new.priority, new.building_id, new.apartment, new.entrance, new.floor,
        new.identifier, new.applicant_name, new.contacts, new.address_note, new.comment,
        new.appeal_type, new.localize_deadline_at, new.deadline_at, new.organization_id, new.address,
        new.search_text)
       is distinct from
       (old.kind_id, old.received_at, old.priority, old.building_id, old.apartment, old.entrance, old.floor,
        old.identifier, old.applicant_name, old.contacts, old.address_note, old.comment,
        old.appeal_type, old.localize_deadline_at, old.deadline_at, old.organization_id, old.address,
        old.search_text) then
        new := dialog_appeal_derive(new);
    end if;
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
    if (new.kind_id <> old.kind_id or new.building_id is distinct from old.building_id)
        and exists (select 1 from appeals where joined_to = new.id) then
        raise exception 'К обращению % присоединены другие: сначала отсоедините их', old.number using errcode = 'DL007';
    end if;
    return new;
end
$$;

-- As in …26_statement_history.sql; the appeal's update now also makes the step.
create or replace function dialog_appeal_executors_added() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select a.number into r
    from new_rows n join appeals a on a.id = n.appeal_id
    where a.building_id is null order by n.assigned_at limit 1;
    if found then
        raise exception 'Чтобы назначить исполнителя, укажите адрес обращения %', r.number using errcode = 'DL002';
    end if;
    select e.full_name into r
    from new_rows n join executors e on e.id = n.executor_id
    where not e.active order by n.assigned_at limit 1;
    if found then
        raise exception 'Исполнитель % не работает', r.full_name using errcode = 'DL005',
            hint = 'Выберите другого исполнителя.';
    end if;
    select e.full_name, a.address into r
    from new_rows n join appeals a on a.id = n.appeal_id join executors e on e.id = n.executor_id
    where not exists (select 1 from executor_kinds k where k.executor_id = e.id and k.kind_id = a.kind_id)
       or not exists (select 1 from executor_buildings b where b.executor_id = e.id and b.building_id = a.building_id)
    order by n.assigned_at limit 1;
    if found then
        raise exception 'Исполнитель % не обслуживает этот вид обращения по адресу %', r.full_name, r.address
            using errcode = 'DL005', hint = 'Выберите исполнителя из списка обслуживающих этот адрес.';
    end if;
    select a.number into r
    from new_rows n join appeals a on a.id = n.appeal_id
    where a.status not in ('новый', 'назначено', 'в работе') order by n.assigned_at limit 1;
    if found then
        raise exception 'Обращение % уже отработано: исполнителя не назначить', r.number using errcode = 'DL001';
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

-- As in …26_statement_history.sql; the appeal's new version names its stamps.
create or replace function dialog_appeal_executors_removed() returns trigger
language plpgsql security definer set search_path = public, pg_temp set jit = off
set enable_nestloop = on set enable_hashjoin = off set enable_mergejoin = off
as $$
declare
    r record;
begin
    select a.number, a.status into r
    from appeals a
    where a.id in (select o.appeal_id from old_rows o) and a.status in ('назначено', 'в работе')
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
    -- The appeal's new version, stamped now by who acts (it names both stamps; see above).
    update appeals set (updated_at, updated_by) = (dialog_now(), dialog_actor())
    where id = any(array(select o.appeal_id from old_rows o));
    return null;
end
$$;
