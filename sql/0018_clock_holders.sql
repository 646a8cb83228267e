-- Who holds the work a clock is about (the problem's HQ department, the forwarding's functional
-- department, S&T HQ for its own callbacks, the evaluating department), kept on the clock itself,
-- so "overdue, by department" reads the clocks alone: no join through other tables' policies.
alter table huifang.timers add column department_id integer references huifang.departments;

create function huifang.timer_holder(p_kind text, p_branch integer, p_subject bigint) returns integer
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select case p_kind
            when 'problem' then (select department_id from huifang.problems where branch_id = p_branch and id = p_subject)
            when 'problem_forwarding' then (select department_id from huifang.problem_forwardings where branch_id = p_branch and id = p_subject)
            when 'callback_task' then (select owner_department_id from huifang.callback_tasks where branch_id = p_branch and id = p_subject)
            when 'evaluation' then (select department_id from huifang.evaluations where branch_id = p_branch and id = p_subject)
        end
    $$;

create function huifang.timers_set_holder() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.subject_kind in ('problem', 'problem_forwarding', 'callback_task', 'evaluation') then
        new.department_id := huifang.timer_holder(new.subject_kind, new.branch_id, new.subject_id);
    end if;
    return new;
end
$$;

create trigger timers_set_holder
    before insert on huifang.timers
    for each row execute function huifang.timers_set_holder();

-- A problem changes hands when it is approved (routed) — its clock follows.
create function huifang.problems_move_clock() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.timers set department_id = new.department_id
    where branch_id = new.branch_id and subject_kind = 'problem' and subject_id = new.id;
    return null;
end
$$;

-- (No column list: the routing trigger sets department_id, which no UPDATE names.)
create trigger problems_move_clock
    after update on huifang.problems
    for each row when (new.department_id is distinct from old.department_id)
    execute function huifang.problems_move_clock();

update huifang.timers set department_id = huifang.timer_holder(subject_kind, branch_id, subject_id)
where subject_kind in ('problem', 'problem_forwarding', 'callback_task', 'evaluation');

revoke execute on function huifang.timer_holder(text, integer, bigint), huifang.timers_set_holder(), huifang.problems_move_clock() from public;
