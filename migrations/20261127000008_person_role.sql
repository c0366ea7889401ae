-- An admin moves a person to another role. The role is also the person's PostgreSQL group
-- (dialog_<role>), which is what the database's rules check, so the staff row and the group
-- change together, here. Nobody changes their own role.
create function dialog_set_person_role(p_login text, p_role staff_role) returns void
language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    old_role staff_role;
begin
    perform dialog_require_admin();
    select role into old_role from staff where login = p_login for update;
    if not found then
        raise exception 'Сотрудник «%» не найден', p_login using errcode = 'DL015';
    end if;
    if old_role = p_role then
        return;
    end if;
    if p_login = session_user then
        raise exception 'Нельзя изменить собственную роль' using errcode = 'DL014',
            hint = 'Попросите другого администратора.';
    end if;
    update staff set role = p_role where login = p_login;
    execute format('revoke %I from %I', 'dialog_' || old_role, p_login);
    execute format('grant %I to %I', 'dialog_' || p_role, p_login);
end
$$;

revoke all on function dialog_set_person_role(text, staff_role) from public;
grant execute on function dialog_set_person_role(text, staff_role) to dialog_admin;
