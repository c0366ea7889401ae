-- The mail intake. dialog-server's mail duty reads the center's mailbox (IMAP) under a service
-- login no person holds and hands each new letter to the database, which decides what it
-- becomes: a new appeal (channel e-mail), a comment on the appeal it answers (its number in
-- the subject, or the thread of a letter that made or commented an appeal), or an entry of
-- «Письма без обращения» with the reason in Russian — never nothing. Every letter is one row
-- of `mail_messages`, keyed by the mailbox's UIDVALIDITY and UID and by its Message-ID,
-- written in the same transaction as the appeal or the comment: a letter read again after a
-- crash of either side finds its row and changes nothing.

create type mail_outcome as enum ('appeal', 'comment', 'unmatched', 'duplicate');

create table mail_messages (
    id uuid primary key,
    -- The mailbox as the duty names it (`user@host/INBOX`) and the letter's place in it.
    mailbox text not null,
    uidvalidity bigint not null,
    uid bigint not null,
    -- The letter's Message-ID, or a digest of its header when it has none: the same letter
    -- under another UID (a mailbox rebuilt with a new UIDVALIDITY, a second copy) is the same.
    message_key text not null,
    -- The Message-ID alone, which replies name in In-Reply-To and References.
    message_id text,
    sender text not null default '',
    sender_name text not null default '',
    subject text not null default '',
    -- When the mailbox received it (the IMAP server's clock), and when Dialog took it.
    received_at timestamptz not null,
    taken_at timestamptz not null default now(),
    size bigint not null default 0,
    outcome mail_outcome not null,
    appeal_id uuid constraint mail_messages_appeal_fkey references appeals,
    duplicate_of uuid constraint mail_messages_duplicate_fkey references mail_messages,
    -- A letter without an appeal: why, what it says, what it carried, and the letter itself
    -- when it is small enough to keep (at most 25 MiB, as any file).
    reason text,
    body text,
    attachments jsonb not null default '[]',
    raw bytea,
    -- An operator registered an appeal from it by hand, or put it aside.
    resolved_at timestamptz,
    resolved_by text,
    constraint mail_messages_uid_key unique (mailbox, uidvalidity, uid),
    constraint mail_messages_outcome_check check (
        (outcome in ('appeal', 'comment') and appeal_id is not null and duplicate_of is null)
        or (outcome = 'duplicate' and appeal_id is null and duplicate_of is not null)
        or (outcome = 'unmatched' and duplicate_of is null and (appeal_id is null or resolved_at is not null))
    ),
    constraint mail_messages_reason_check check ((outcome = 'unmatched') = (reason is not null)),
    constraint mail_messages_text_check check (
        length(mailbox) <= 1000 and length(message_key) <= 1000 and length(coalesce(message_id, '')) <= 1000
        and length(sender) <= 320 and length(sender_name) <= 300 and length(subject) <= 1000
        and length(coalesce(reason, '')) <= 2000 and length(coalesce(body, '')) <= 100000
    ),
    constraint mail_messages_raw_size_check check (raw is null or octet_length(raw) between 1 and 26214400)
);
-- One letter, one outcome: a second copy is recorded as a duplicate of the first.
create unique index mail_messages_key_idx on mail_messages (message_key) where outcome <> 'duplicate';
create index mail_messages_thread_idx on mail_messages (message_id) where appeal_id is not null;
create index mail_messages_unmatched_idx on mail_messages (taken_at desc) where outcome = 'unmatched';
create index mail_messages_appeal_idx on mail_messages (appeal_id) where appeal_id is not null;
alter table mail_messages enable row level security;

---------------------------------------------------------------------------------------------
-- What kind a letter's appeal gets. A letter rarely names its building in a form the
-- directory can find, so it is registered without an address: the kind is the one whose
-- keywords its subject holds (Russian stemming: «горячей воды» finds «горячая вода») among
-- the kinds an appeal may have without an address (complaints and inquiries), else the
-- center's kind for written appeals that dialog-server's configuration names. A subject that
-- points at a kind needing an address (an accident, a request) says so in the appeal's
-- comment, for the operator who adds the address.

create function dialog_mail_kinds(p_subject text)
returns table (kind_id uuid, name text, needs_address boolean, hits bigint)
language sql stable security definer set search_path = public, pg_temp
as $$
    select k.id, k.name, dialog_type_needs_address(k.appeal_type), count(*)
    from appeal_kinds k, unnest(k.keywords) kw
    where k.active and numnode(phraseto_tsquery('russian', kw)) > 0
      and to_tsvector('russian', coalesce(p_subject, '')) @@ phraseto_tsquery('russian', kw)
    group by k.id, k.name, k.appeal_type
    order by count(*) desc, k.name
$$;

-- Why the configured kind for written appeals cannot be used, or null when it can.
create function dialog_mail_default_kind_problem(p_name text) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
declare
    k appeal_kinds;
begin
    if coalesce(btrim(p_name), '') = '' then
        return null;
    end if;
    select * into k from appeal_kinds where name = btrim(p_name);
    if not found then
        return format('Вида обращения «%s» нет в справочнике видов', btrim(p_name));
    end if;
    if not k.active then
        return format('Вид обращения «%s» отключён в справочнике', k.name);
    end if;
    if dialog_type_needs_address(k.appeal_type) then
        return format('Вид обращения «%s» — %s, ему нужен адрес, а письмо приходит без адреса: выберите вид с типом «жалоба» или «справка»',
            k.name, k.appeal_type);
    end if;
    return null;
end
$$;

-- For dialog-server at start: the configured kind must be usable.
create function dialog_mail_check_default_kind(p_name text) returns text
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_duty('mail');
    return dialog_mail_default_kind_problem(p_name);
end
$$;

-- The highest UID of this mailbox (under this UIDVALIDITY) already taken: the duty reads on
-- after it. Letters are taken in UID order, so there are no holes below it.
create function dialog_mail_last_uid(p_mailbox text, p_uidvalidity bigint) returns bigint
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_duty('mail');
    return coalesce((select max(uid) from mail_messages where mailbox = p_mailbox and uidvalidity = p_uidvalidity), 0);
end
$$;

-- A file name as the attachments table takes it: no path, control or direction characters.
create function dialog_mail_file_name(p_name text) returns text
language sql immutable
return coalesce(nullif(left(btrim(regexp_replace(coalesce(p_name, ''),
    '[\x01-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff/\\]', '_', 'g'), ' .'), 255), ''), 'вложение');

---------------------------------------------------------------------------------------------
-- Taking a letter. `p_refusal` is the duty's own reason when it already knows the letter
-- cannot be an appeal (it could not be read, it is too big); otherwise the database decides.
-- Returns the letter's row; `fresh` is false when the letter had been taken before (its
-- earlier outcome is returned and nothing changes). The duty then attaches the files
-- (`dialog_mail_attach`) or keeps the letter (`dialog_mail_keep_raw`) in the same
-- transaction, and commits.
create function dialog_mail_take(
    p_id uuid, p_appeal uuid, p_mailbox text, p_uidvalidity bigint, p_uid bigint, p_message_key text,
    p_message_id text, p_references text[], p_sender text, p_sender_name text, p_subject text, p_text text,
    p_received_at timestamptz, p_size bigint, p_attachments jsonb, p_default_kind text, p_refusal text
) returns table (id uuid, outcome mail_outcome, appeal_id uuid, number text, reason text, fresh boolean)
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
#variable_conflict use_column
declare
    m mail_messages;
    v_sender text := lower(btrim(coalesce(p_sender, '')));
    v_subject text := left(btrim(coalesce(p_subject, '')), 1000);
    v_text text := btrim(coalesce(p_text, ''));
    v_received timestamptz := least(greatest(coalesce(p_received_at, now()), now() - interval '30 days'), now());
    v_target uuid;
    v_kind uuid;
    v_guess text;
    v_default uuid;
    v_problem text;
    v_reason text := p_refusal;
    v_comment text;
begin
    perform dialog_require_duty('mail');
    select * into m from mail_messages where mailbox = p_mailbox and uidvalidity = p_uidvalidity and uid = p_uid;
    if not found then
        select * into m from mail_messages where message_key = p_message_key and outcome <> 'duplicate';
        if found then
            -- The same letter under another UID: its first outcome stands.
            insert into mail_messages (id, mailbox, uidvalidity, uid, message_key, message_id, sender, subject,
                                       received_at, size, outcome, duplicate_of)
                values (p_id, p_mailbox, p_uidvalidity, p_uid, left(p_message_key, 1000), left(p_message_id, 1000),
                        left(v_sender, 320), v_subject, v_received, p_size, 'duplicate', m.id);
            return query select p_id, 'duplicate'::mail_outcome, m.appeal_id,
                (select a.number from appeals a where a.id = m.appeal_id), m.reason, false;
            return;
        end if;
    end if;
    if found then
        return query select m.id, m.outcome, m.appeal_id, (select a.number from appeals a where a.id = m.appeal_id),
            m.reason, false;
        return;
    end if;

    -- A reply: the appeal's number in the subject, else the thread.
    if v_reason is null then
        select a.id into v_target from appeals a where a.number = substring(v_subject from '(\d{4}-\d{6})');
        if v_target is null and cardinality(p_references) > 0 then
            select mm.appeal_id into v_target from mail_messages mm
            where mm.message_id = any(p_references) and mm.appeal_id is not null
            order by mm.taken_at desc limit 1;
        end if;
    end if;
    if v_reason is null and v_target is null
        and v_sender !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
        v_reason := 'В письме нет адреса отправителя, по которому можно ответить: зарегистрируйте обращение вручную, указав телефон или адрес заявителя из текста письма';
    elsif v_reason is null and v_target is null and length(v_sender) > 320 then
        v_reason := 'Адрес отправителя длиннее 320 символов: зарегистрируйте обращение вручную';
    end if;
    if v_reason is null and v_target is null then
        select k.kind_id into v_kind from dialog_mail_kinds(v_subject) k where not k.needs_address limit 1;
        if v_kind is null then
            select k.name into v_guess from dialog_mail_kinds(v_subject) k limit 1;
            v_problem := dialog_mail_default_kind_problem(p_default_kind);
            if v_problem is null then
                select k.id into v_default from appeal_kinds k where k.name = btrim(p_default_kind);
            end if;
            if v_default is not null then
                v_kind := v_default;
            elsif v_problem is not null then
                v_reason := v_problem || ' (default_kind в разделе [mail] настроек dialog-server): администратору — исправьте настройку; обращение зарегистрируйте вручную';
            elsif v_guess is not null then
                v_reason := format('По теме письма подходит вид «%s», но ему нужен адрес, а в письме его не найти: зарегистрируйте обращение вручную, указав адрес', v_guess);
            else
                v_reason := 'По теме письма не удалось определить вид обращения: зарегистрируйте обращение вручную';
            end if;
        end if;
    end if;

    if v_reason is not null then
        insert into mail_messages (id, mailbox, uidvalidity, uid, message_key, message_id, sender, sender_name,
                                   subject, received_at, size, outcome, reason, body, attachments)
            values (p_id, p_mailbox, p_uidvalidity, p_uid, left(p_message_key, 1000), left(p_message_id, 1000),
                    left(v_sender, 320), left(btrim(coalesce(p_sender_name, '')), 300), v_subject, v_received, p_size,
                    'unmatched', left(v_reason, 2000), left(v_text, 100000), coalesce(p_attachments, '[]'));
        begin
            perform pg_notify('dialog_mail', '');
        exception when others then
            null;
        end;
        return query select p_id, 'unmatched'::mail_outcome, null::uuid, null::text, left(v_reason, 2000), true;
        return;
    end if;

    if v_target is not null then
        v_comment := left(format(E'Письмо от %s%s\n%s', v_sender,
            case when v_subject <> '' then format(', тема «%s»', v_subject) else '' end,
            coalesce(nullif(v_text, ''), '(без текста)')), 10000);
        insert into mail_messages (id, mailbox, uidvalidity, uid, message_key, message_id, sender, sender_name,
                                   subject, received_at, size, outcome, appeal_id)
            values (p_id, p_mailbox, p_uidvalidity, p_uid, left(p_message_key, 1000), left(p_message_id, 1000),
                    left(v_sender, 320), left(btrim(coalesce(p_sender_name, '')), 300), v_subject, v_received, p_size,
                    'comment', v_target);
        insert into appeal_history (appeal_id, action, comment) values (v_target, 'comment', v_comment);
        return query select p_id, 'comment'::mail_outcome, v_target, (select a.number from appeals a where a.id = v_target),
            null::text, true;
        return;
    end if;

    v_comment := concat_ws(E'\n\n',
        case when v_guess is not null then format('Похоже на вид «%s»: укажите адрес и смените вид обращения.', v_guess) end,
        nullif(v_subject, ''), nullif(v_text, ''));
    insert into appeals (id, received_at, channel, identifier, applicant_name, kind_id, comment, number, appeal_type, priority)
        values (p_appeal, v_received, 'e-mail', v_sender, left(btrim(coalesce(p_sender_name, '')), 300), v_kind,
                left(coalesce(nullif(v_comment, ''), '(письмо без текста)'), 10000), '', null, null);
    insert into mail_messages (id, mailbox, uidvalidity, uid, message_key, message_id, sender, sender_name, subject,
                               received_at, size, outcome, appeal_id)
        values (p_id, p_mailbox, p_uidvalidity, p_uid, left(p_message_key, 1000), left(p_message_id, 1000),
                left(v_sender, 320), left(btrim(coalesce(p_sender_name, '')), 300), v_subject, v_received, p_size,
                'appeal', p_appeal);
    return query select p_id, 'appeal'::mail_outcome, p_appeal, (select a.number from appeals a where a.id = p_appeal),
        null::text, true;
exception when unique_violation then
    -- Another instance took the same letter at the same moment (it held the duty's lock until
    -- just now): its outcome stands.
    return query select mm.id, mm.outcome, mm.appeal_id, (select a.number from appeals a where a.id = mm.appeal_id),
        mm.reason, false
    from mail_messages mm
    where (mm.mailbox = p_mailbox and mm.uidvalidity = p_uidvalidity and mm.uid = p_uid)
       or (mm.message_key = p_message_key and mm.outcome <> 'duplicate')
    limit 1;
end
$$;

-- One file of a letter taken in this transaction, attached to its appeal. The database's
-- limits are the operators' (25 MiB a file, the daily allowance of the service's login).
create function dialog_mail_attach(p_mail uuid, p_id uuid, p_file_name text, p_mime text, p_content bytea)
returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    m mail_messages;
    v_mime text := lower(btrim(coalesce(p_mime, '')));
begin
    perform dialog_require_duty('mail');
    select * into m from mail_messages where id = p_mail;
    -- Only a letter taken in this very transaction (now() is the transaction's start).
    if not found or m.appeal_id is null or m.outcome not in ('appeal', 'comment') or m.taken_at <> now() then
        raise exception 'Письмо не найдено среди принятых в этой транзакции' using errcode = 'DL015';
    end if;
    if v_mime !~ '^[a-z0-9.+-]+/[a-z0-9.+-]+$' then
        v_mime := 'application/octet-stream';
    end if;
    perform dialog_check_quota(octet_length(p_content));
    insert into attachments (id, appeal_id, file_name, mime, content, uploaded_by, uploaded_at)
        values (p_id, m.appeal_id, dialog_mail_file_name(p_file_name), v_mime, p_content, session_user, now());
end
$$;

-- The whole letter of one that became no appeal, kept for the operator (taken in this
-- transaction; at most 25 MiB).
create function dialog_mail_keep_raw(p_mail uuid, p_raw bytea) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_duty('mail');
    update mail_messages m set raw = p_raw
    where m.id = p_mail and m.outcome = 'unmatched' and m.taken_at = now();
end
$$;

---------------------------------------------------------------------------------------------
-- «Письма без обращения»: what operators and supervisors see and do.

create function dialog_mail_letters(p_resolved boolean, p_limit integer)
returns table (
    id uuid, received_at timestamptz, taken_at timestamptz, sender text, sender_name text, subject text,
    reason text, body text, attachments jsonb, size bigint, has_raw boolean, resolved_at timestamptz,
    resolved_by text, appeal_id uuid, appeal_number text
)
language plpgsql stable security definer set search_path = public, pg_temp
as $$
#variable_conflict use_column
begin
    perform dialog_require_staff();
    return query
        select m.id, m.received_at, m.taken_at, m.sender, m.sender_name, m.subject, m.reason, m.body, m.attachments,
               m.size, m.raw is not null, m.resolved_at, m.resolved_by, m.appeal_id, a.number
        from mail_messages m left join appeals a on a.id = m.appeal_id
        where m.outcome = 'unmatched' and (m.resolved_at is not null) = coalesce(p_resolved, false)
        order by m.taken_at desc
        limit least(greatest(coalesce(p_limit, 200), 1), 1000);
end
$$;

-- The letter as it came (an .eml file), when it was kept.
create function dialog_mail_raw(p_id uuid) returns bytea
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    perform dialog_require_staff();
    return (select raw from mail_messages where id = p_id and outcome = 'unmatched');
end
$$;

-- Locks an unresolved letter of the list.
create function dialog_mail_lock_letter(p_id uuid) returns mail_messages
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    m mail_messages;
begin
    select * into m from mail_messages where id = p_id and outcome = 'unmatched' for update;
    if not found then
        raise exception 'Письмо не найдено' using errcode = 'DL015';
    end if;
    return m;
end
$$;
revoke all on function dialog_mail_lock_letter(uuid) from public;

-- An operator registers an appeal from a letter of the list by hand (as themselves: the
-- appeal is theirs, as from the card). The letter itself, when kept, is attached to it.
-- Calling again with the same appeal id returns it unchanged.
create function dialog_mail_register(
    p_mail uuid, p_appeal uuid, p_identifier text, p_applicant text, p_kind uuid, p_building uuid,
    p_apartment text, p_comment text
) returns uuid
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
declare
    m mail_messages;
begin
    perform dialog_require_staff();
    m := dialog_mail_lock_letter(p_mail);
    if m.resolved_at is not null then
        if m.appeal_id = p_appeal then
            return p_appeal;
        end if;
        raise exception 'Письмо уже разобрано (%)', m.resolved_by using errcode = 'DL020',
            hint = 'Обновите список писем без обращения.';
    end if;
    perform dialog_register_appeal(p_appeal, m.received_at, 'e-mail', btrim(p_identifier), btrim(coalesce(p_applicant, '')),
        '', p_building, btrim(coalesce(p_apartment, '')), '', '', '', p_kind, null, btrim(coalesce(p_comment, '')),
        '{}', null, null);
    if m.raw is not null then
        perform dialog_add_attachment(gen_random_uuid(), p_appeal, 'письмо.eml', 'message/rfc822', m.raw);
    end if;
    update mail_messages set appeal_id = p_appeal, resolved_at = now(), resolved_by = session_user where id = p_mail;
    perform pg_notify('dialog_mail', '');
    return p_appeal;
end
$$;

-- An operator puts a letter of the list aside (not an appeal: advertising, a mistake).
create function dialog_mail_dismiss(p_mail uuid) returns void
language plpgsql security definer set search_path = public, pg_temp
set lock_timeout = '5s'
as $$
declare
    m mail_messages;
begin
    perform dialog_require_staff();
    m := dialog_mail_lock_letter(p_mail);
    if m.resolved_at is null then
        update mail_messages set resolved_at = now(), resolved_by = session_user where id = p_mail;
        perform pg_notify('dialog_mail', '');
    end if;
end
$$;

---------------------------------------------------------------------------------------------

grant execute on function dialog_mail_check_default_kind(text), dialog_mail_last_uid(text, bigint),
    dialog_mail_take(uuid, uuid, text, bigint, bigint, text, text, text[], text, text, text, text, timestamptz,
        bigint, jsonb, text, text),
    dialog_mail_attach(uuid, uuid, text, text, bytea), dialog_mail_keep_raw(uuid, bytea)
    to dialog_service;
grant execute on function dialog_mail_letters(boolean, integer), dialog_mail_raw(uuid),
    dialog_mail_register(uuid, uuid, text, text, uuid, uuid, text, text), dialog_mail_dismiss(uuid)
    to dialog_operator;
