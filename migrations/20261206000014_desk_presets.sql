-- What a fresh center starts with on every desktop, and two more things a filter can say:
-- «мои» (registered by the person looking) and «за сегодня» (received since midnight), so that
-- «Мои за сегодня» stays true tomorrow.

alter type dialog_filter add attribute mine boolean, add attribute today boolean;

create or replace function dialog_registry_where(f dialog_filter) returns text
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
    if f.mine then w := w || ' and a.created_by = session_user'; end if;
    if f.today then w := w || $w$ and a.received_at >= date_trunc('day', now())$w$; end if;
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

create or replace function dialog_valid_filter(f jsonb) returns boolean
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
            when e.k in ('mine', 'today') then jsonb_typeof(e.v) not in ('boolean', 'null')
            else true
        end
    );

-- The desktop of a fresh center: the manual's working filters, shared, for admins and
-- supervisors to change.
insert into filter_templates (id, owner, name, shared, filter, position) values
    (gen_random_uuid(), 'dialog', 'Аварии в работе', true, '{"types": ["accident"], "statuses": ["new", "assigned", "inWork"]}', 0),
    (gen_random_uuid(), 'dialog', 'Срок истекает', true, '{"quick": "deadlineSoon"}', 1),
    (gen_random_uuid(), 'dialog', 'Исполнитель не оповещён', true, '{"quick": "executorNotNotified"}', 2),
    (gen_random_uuid(), 'dialog', 'Мои за сегодня', true, '{"mine": true, "today": true}', 3)
on conflict (owner, name) do nothing;

-- A file attached with a new card is sent again with it when the save is retried: the same
-- file is one file.
create or replace function dialog_add_attachment(p_id uuid, p_appeal uuid, p_file_name text, p_mime text, p_content bytea)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    if exists (select 1 from attachments where id = p_id and appeal_id = p_appeal) then
        return;
    end if;
    if not exists (select 1 from appeals where id = p_appeal) then
        raise exception 'Обращение не найдено' using errcode = 'DL015';
    end if;
    perform dialog_check_quota(octet_length(p_content));
    insert into attachments (id, appeal_id, file_name, mime, content, uploaded_by, uploaded_at)
        values (p_id, p_appeal, btrim(p_file_name), lower(btrim(p_mime)), p_content, session_user, now());
end
$$;
