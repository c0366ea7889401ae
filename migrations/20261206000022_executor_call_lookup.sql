-- Finding the executor's answered call reads one index entry per phone of the executor.
--
-- «В работе» needs the first answered call to the executor since the assignment. Written as one
-- scan for `number = any(phones)`, the index gives the calls phone by phone, not in time order,
-- so the server read every later call of the executor to find the first: with a year of
-- history that is thousands of rows for each step. Now each phone is looked up on its own, in
-- time order, and only its first answered call is read.

-- As in …10_pbx_witness.sql, the same answer.
create or replace function dialog_executor_notified_at(p_appeal uuid, p_executor uuid, p_assigned timestamptz)
returns timestamptz
language plpgsql stable security definer set search_path = public, pg_temp
as $$
begin
    if dialog_setting('call_evidence') = 'app' then
        return (
            select c.started_at from calls c
            where c.executor_id = p_executor and c.direction = 'исходящий'
              and c.started_at >= p_assigned and c.answered_at is not null and c.recording is not null
              and (c.appeal_id is null or c.appeal_id = p_appeal)
            order by c.started_at
            limit 1
        );
    end if;
    return (
        select min(first.started_at)
        from executors e, unnest(e.phones) as phone(number),
        lateral (
            select p.started_at from pbx_calls p
            where p.number = phone.number and p.direction = 'исходящий' and p.answered_at is not null
              and p.started_at >= p_assigned
            order by p.started_at
            limit 1
        ) first
        where e.id = p_executor
    );
end
$$;
