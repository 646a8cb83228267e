-- What an HQ or functional department sees of the clocks, as one policy calling one function.
-- Three policies with subqueries (0014, 0015, 0017) put their subplans into every request's plan on
-- timers — a branch reader's too, who never needs them — and the executor opened them all each
-- time: most of what row-level security cost a branch's monitoring query. The clock's holder
-- (0018) answers most cases; the function looks up the rest for that one clock, and only for a
-- reader with a department scope. What each department sees is unchanged:
--   problem:            the problem is held by it, or forwarded to it;
--   problem_forwarding: the forwarding is to it, or of a problem it holds;
--   evaluation:         it is the evaluating department;
--   record_upload:      the upload was delivered to it;
--   directive_feedback: the feedback is addressed to it.

create function huifang.department_sees_clock(p_branch integer, p_kind text, p_subject bigint, p_holder integer)
    returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select case p_kind
            when 'problem' then p_holder = any (huifang.scope_department_ids())
                or exists (select from huifang.problem_forwardings f
                           where f.branch_id = p_branch and f.problem_id = p_subject
                             and f.department_id = any (huifang.scope_department_ids()))
            when 'problem_forwarding' then p_holder = any (huifang.scope_department_ids())
                or exists (select from huifang.problem_forwardings f
                           join huifang.problems p on p.branch_id = f.branch_id and p.id = f.problem_id
                           where f.branch_id = p_branch and f.id = p_subject
                             and p.department_id = any (huifang.scope_department_ids()))
            when 'evaluation' then p_holder = any (huifang.scope_department_ids())
            when 'record_upload' then exists (
                select from huifang.record_upload_deliveries d
                where d.branch_id = p_branch and d.upload_id = p_subject and d.department_id = any (huifang.scope_department_ids()))
            when 'directive_feedback' then exists (
                select from huifang.directive_feedback x
                where x.branch_id = p_branch and x.id = p_subject and x.department_id = any (huifang.scope_department_ids()))
            else false
        end
    $$;

-- Evaluated after every cheaper condition of a query.
alter function huifang.department_sees_clock(integer, text, bigint, integer) cost 1000;

drop policy read_delivered on huifang.timers;
drop policy read_problem_clocks on huifang.timers;
drop policy read_evaluation_clocks on huifang.timers;

create policy read_held on huifang.timers for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0
           and huifang.department_sees_clock(branch_id, subject_kind, subject_id, department_id));

revoke execute on function huifang.department_sees_clock(integer, text, bigint, integer) from public;
grant execute on function huifang.department_sees_clock(integer, text, bigint, integer) to huifang_app;
