-- A letter or a visit may leave no phone and no e-mail, only a name and a postal address (the
-- manual's identifier is «телефон, e-mail и т.п.»). Such an appeal says so by its channel, and
-- still has to say who it is from and how to answer.

-- Channels whose appeals may come without a phone or an e-mail.
create function dialog_channel_allows_no_identifier(c appeal_channel) returns boolean
language sql immutable
return c in ('письмо', 'личный приём');

alter table appeals drop constraint appeals_identifier_check;
alter table appeals add constraint appeals_identifier_check check (
    dialog_is_phone(identifier)
    or identifier ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
    or (identifier = '' and dialog_channel_allows_no_identifier(channel))
);
alter table appeals add constraint appeals_written_answer_check check (
    identifier <> '' or (btrim(applicant_name) <> '' and btrim(contacts) <> '')
);

grant execute on function dialog_channel_allows_no_identifier(appeal_channel) to dialog_operator, dialog_manager;
