-- A conflict (DL008) names its appeal as data: the DETAIL is a JSON object with the appeal's
-- id, number and the version it has now, which clients read instead of the message, whose
-- words are for people. Before, the DETAIL was the number alone.

create function dialog_conflict_detail(p_id uuid, p_number text, p_version integer) returns text
language sql immutable set search_path = public, pg_temp
as $$
    select json_build_object('id', p_id, 'number', p_number, 'version', p_version)::text
$$;
revoke all on function dialog_conflict_detail(uuid, text, integer) from public;

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

-- Locks the appeal and checks the version the person read.
create or replace function dialog_lock_appeal(p_id uuid, p_version integer) returns appeals
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
            detail = dialog_conflict_detail(a.id, a.number, a.version),
            hint = format('Вы сохраняли версию %s, а сейчас версия %s.', p_version, a.version);
    end if;
    return a;
end
$$;
