-- Rules decided once, here, and sent to the app with the data: the steps a status may take
-- (the card offers exactly those the person may make), which statuses are live, and whether a
-- kind needs an address.

-- The steps of an appeal's life (manual: «Статусы обращения»).
create function dialog_step_exists(f appeal_status, t appeal_status, p_type appeal_type) returns boolean
language sql immutable
return (f = 'новый' and t in ('назначено', 'отменено'))
    or (f = 'новый' and t = 'отработано' and p_type = 'справка')
    or (f = 'назначено' and t in ('новый', 'в работе', 'отменено'))
    or (f = 'в работе' and t in ('назначено', 'отработано'))
    or (f = 'отработано' and t in ('в работе', 'закрыто'))
    or (f = 'закрыто' and t = 'в работе')
    or (f = 'отменено' and t = 'новый');

-- Closing, and leaving a closed or cancelled appeal, are a supervisor's.
create function dialog_step_is_supervisors(f appeal_status, t appeal_status) returns boolean
language sql immutable
return t = 'закрыто' or f in ('закрыто', 'отменено');

-- The statuses this session may move the appeal to (other conditions — an executor for
-- «назначено», a call for «в работе» — are the data's and say so when they refuse).
create function dialog_next_statuses(a appeals) returns appeal_status[]
language sql stable security definer set search_path = public, pg_temp
return array(
    select t from unnest(enum_range(null::appeal_status)) t
    where dialog_step_exists(a.status, t, a.appeal_type)
      and (not dialog_step_is_supervisors(a.status, t) or dialog_is_supervisor())
    order by t
);

-- Live: somebody still has to do something.
create function dialog_is_live(s appeal_status) returns boolean
language sql immutable
return s in ('новый', 'назначено', 'в работе');

-- An accident and a request happen somewhere: they need an address. A complaint and an
-- inquiry may come without one.
create function dialog_type_needs_address(t appeal_type) returns boolean
language sql immutable
return t in ('авария', 'заявка');

alter table appeals drop constraint appeals_address_required_check;
alter table appeals add constraint appeals_address_required_check
    check (not dialog_type_needs_address(appeal_type) or building_id is not null);

create or replace function dialog_check_transition(old appeals, new appeals) returns appeals
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    f appeal_status := old.status;
    t appeal_status := new.status;
    call_at timestamptz;
begin
    if not dialog_step_exists(f, t, new.appeal_type) then
        raise exception 'Нельзя перевести обращение % из статуса «%» в «%»', old.number, f, t using errcode = 'DL001',
            hint = 'Порядок статусов: новый → назначено → в работе → отработано → закрыто.';
    end if;
    if dialog_step_is_supervisors(f, t) and not dialog_is_supervisor() then
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
            raise exception 'Исполнитель обращения % не оповещён: АТС не записала состоявшегося звонка назначенному исполнителю', old.number
                using errcode = 'DL003',
                hint = 'Позвоните исполнителю из карточки обращения; когда он ответит, статус «в работе» станет доступен.';
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

grant execute on function dialog_step_exists(appeal_status, appeal_status, appeal_type),
    dialog_step_is_supervisors(appeal_status, appeal_status), dialog_next_statuses(appeals),
    dialog_is_live(appeal_status), dialog_type_needs_address(appeal_type)
    to dialog_operator, dialog_manager;

-- History says which kind and which appeal, not only their ids.
create function dialog_history_names(v jsonb) returns jsonb
language sql stable security definer set search_path = public, pg_temp
return case when v is null then null else v || jsonb_strip_nulls(jsonb_build_object(
    'kind', (select k.name from appeal_kinds k where k.id::text = v ->> 'kind_id'),
    'joined', (select a.number from appeals a where a.id::text = v ->> 'joined_to')
)) end;
revoke all on function dialog_history_names(jsonb) from public;

create or replace function dialog_appeal_history(p_appeal uuid)
returns table (at timestamptz, actor text, actor_name text, action text, before jsonb, after jsonb, comment text)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if not exists (select 1 from dialog_appeals_by_id(array[p_appeal])) then
        return;
    end if;
    return query
        select h.at, h.actor, s.full_name, h.action, dialog_history_names(h.before), dialog_history_names(h.after), h.comment
        from appeal_history h left join staff s on s.login = h.actor
        where h.appeal_id = p_appeal order by h.id;
end
$$;
