-- A building's new address reaches its appeals again.
--
-- Since …24_lighter_writes.sql an appeal's derived columns (its address, search text and
-- organization among them) are computed again only when the appeal's own sources change or a
-- derived column is written. A building renamed, or moved to another organization, changes
-- them from outside the appeal: its trigger touched the appeals without changing anything of
-- theirs, so they kept the old address. It now clears the address they hold, which has every
-- derived column computed again, as before …24.

-- As in …02_appeals.sql.
create or replace function dialog_buildings_after_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    update appeals set address = null where building_id = new.id;
    return null;
end
$$;
