-- Paths the registry walks for one organization (a manager's), one applicant (the card's
-- «проблемы» tab) and one kind: each in the registry's own order (newest first, then by id),
-- so that a page is the first rows of one index, not a sort of all the matches.
create index appeals_organization_received_idx on appeals (organization_id, received_at desc, id desc);
drop index appeals_organization_idx;
create index appeals_identifier_received_idx on appeals (identifier, received_at desc, id desc);
drop index appeals_identifier_idx;
create index appeals_kind_received_idx on appeals (kind_id, received_at desc, id desc);
drop index appeals_kind_idx;

-- The registry reads pages a person looks at again and again: they sit in the server's memory,
-- where reading a row out of order costs little more than in order. Planned with PostgreSQL's
-- default for disks that seek, a manager's search for a common surname walked every
-- organization's appeals by date (25 ms) instead of their own (6 ms).
alter function dialog_registry(dialog_filter, text, timestamptz, uuid, integer) set random_page_cost = 1.1;
alter function dialog_registry_count(dialog_filter, bigint) set random_page_cost = 1.1;
