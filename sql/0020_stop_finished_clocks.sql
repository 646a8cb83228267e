-- A clock whose every stage has fired is 'done' but still open: the work it times is not finished.
-- The stops written so far matched running clocks only, so a forwarding answered, a problem closed,
-- a callback done, an upload or feedback sent after its escalation left its clock open for good —
-- still overdue, and missing from the SLA figures exactly when it was late. Each stop now takes any
-- clock not yet stopped, through one function (huifang.stop_clock; the trigger functions are those
-- of 0009, 0014 and 0015 with their own UPDATE replaced by it), and the clocks left open that way are
-- stopped as of when their work ended.

-- Stopping a clock, in one place: any clock of the subject not yet stopped, running or done.
-- Returns how many stopped (0 when there was none, or it had stopped already).
create function huifang.stop_clock(p_branch integer, p_kind text, p_subject bigint, p_reason text, p_clock text default null)
    returns integer
    language sql
    as $$
        with stopped as (
            update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = p_reason, next_fire_at = null
            where branch_id = p_branch and subject_kind = p_kind and subject_id = p_subject
              and (p_clock is null or clock = p_clock) and state <> 'stopped'
            returning 1)
        select count(*)::int from stopped
    $$;

grant execute on function huifang.stop_clock(integer, text, bigint, text, text) to huifang_app;

-- From 0009_callback_tasks.sql.
create or replace function huifang.callback_tasks_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.stop_clock(new.branch_id, 'callback_task', new.id, 'task ' || new.state, 'task_due');
    return null;
end
$$;

-- From 0014_records.sql.
create or replace function huifang.record_uploads_route() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.record_upload_deliveries (branch_id, upload_id, department_id, content, record_ids)
    select new.branch_id, new.id, d.department_id, d.content,
           coalesce((select array_agg(r.id order by r.id) from huifang.records r
                     where r.branch_id = new.branch_id and r.upload_id = new.id
                       and (r.form_code = 'service') = (d.content = 'service')), '{}')
    from (select min(id) as department_id, kind from huifang.departments
          where status = 'active' and kind in ('brokerage_ops_center', 'risk_control', 'sales_trading') group by kind) dk
    cross join lateral (select dk.department_id, case dk.kind when 'sales_trading' then 'service' else 'compliance' end as content) d;
    perform huifang.stop_clock(new.branch_id, 'record_upload', new.id, 'upload submitted');
    return null;
end
$$;

-- From 0014_records.sql.
create or replace function huifang.directive_feedback_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.stop_clock(new.branch_id, 'directive_feedback', new.id, 'feedback sent');
    return null;
end
$$;

-- From 0015_problem_workflow.sql.
create or replace function huifang.problems_after_update() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    leader text := case when new.via = 'service' then 'marketing_director' else 'ops_director' end;
begin
    if huifang.problem_touch_only(new, old) then
        return null;
    end if;
    insert into huifang.problem_events (branch_id, problem_id, actor_staff_id, action, from_state, to_state, detail)
    values (new.branch_id, new.id, huifang.scope_staff_id(), new.last_action, old.state, new.state,
            jsonb_strip_nulls(jsonb_build_object(
                'departmentId', case when new.last_action = 'approve' then new.department_id end,
                'assignee', case when new.last_action in ('claim', 'assign') then new.assignee_staff_id end,
                'reason', case new.last_action when 'return' then new.return_reason when 'reject' then new.rejection_reason end,
                'question', case when new.last_action = 'request_info' then new.info_request end,
                'reply', case when new.last_action = 'provide_info' then new.info_reply end,
                'resolution', case when new.last_action in ('resolve', 'accept') then new.resolution end)));
    case new.last_action
        when 'approve' then
            update huifang.timers set escalate_to = jsonb_build_array(
                    jsonb_build_object('role', huifang.triage_role(new.department_id), 'departmentId', new.department_id),
                    jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                        (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active')))
            where branch_id = new.branch_id and subject_kind = 'problem' and subject_id = new.id and clock = 'problem_loop';
            perform huifang.notify_handoff(new.branch_id, huifang.triage_role(new.department_id), null, new.department_id,
                                           'Problem ' || new.id || ' routed to your department', 'problem', new.id);
        when 'return' then
            perform huifang.notify_handoff(new.branch_id, 'responsible_person', new.branch_id, null,
                                           'Problem ' || new.id || ' returned: ' || new.return_reason, 'problem', new.id);
        when 'resubmit' then
            perform huifang.notify_handoff(new.branch_id, leader, new.branch_id, null,
                                           'Problem ' || new.id || ' resubmitted for approval', 'problem', new.id);
        when 'request_info' then
            perform huifang.notify_handoff(new.branch_id, 'responsible_person', new.branch_id, null,
                                           'Problem ' || new.id || ': HQ asks for more information', 'problem', new.id);
        when 'provide_info' then
            perform huifang.notify_handoff(new.branch_id, huifang.triage_role(new.department_id), null, new.department_id,
                                           'Problem ' || new.id || ': the branch answered your question', 'problem', new.id);
        when 'resolve', 'accept', 'reject' then
            perform huifang.notify_handoff(new.branch_id, leader, new.branch_id, null,
                                           'Problem ' || new.id || ': HQ''s answer is ready to be relayed', 'problem', new.id);
        when 'relay_client' then
            perform huifang.stop_clock(new.branch_id, 'problem', new.id, 'relayed to the client', 'problem_loop');
        else null;
    end case;
    return null;
end
$$;

-- From 0015_problem_workflow.sql.
create or replace function huifang.problem_forwardings_after() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    problem huifang.problems;
begin
    select * into problem from huifang.problems where branch_id = new.branch_id and id = new.problem_id;
    if tg_op = 'UPDATE' then
        perform set_config('huifang.touching', new.problem_id::text, true);
        update huifang.problems set version = version + 1 where branch_id = new.branch_id and id = new.problem_id;
        perform set_config('huifang.touching', '', true);
    end if;
    insert into huifang.problem_events (branch_id, problem_id, actor_staff_id, action, from_state, to_state, forwarding_id, detail)
    values (new.branch_id, new.problem_id, huifang.scope_staff_id(),
            case when tg_op = 'INSERT' then 'forwarding.received' else 'forwarding.' || new.state end,
            case when tg_op = 'UPDATE' then old.state end, new.state, new.id,
            jsonb_strip_nulls(jsonb_build_object('departmentId', new.department_id, 'answer', case when new.state = 'answered' then new.answer end,
                                                 'suggestion', new.suggestion, 'reviewNote', new.review_note, 'note', new.note)));
    if tg_op = 'INSERT' then
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        values (new.branch_id, 'problem_forwarding', new.id, 'forwarding_answer', new.received_at, 2,
                'Problem ' || new.problem_id || ': answer the forwarded problem',
                jsonb_build_array(jsonb_build_object('role', 'functional_dept', 'departmentId', new.department_id)),
                jsonb_build_array(jsonb_build_object('role', huifang.triage_role(problem.department_id), 'departmentId', problem.department_id),
                                  jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                      (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))));
        perform huifang.notify_handoff(new.branch_id, 'functional_dept', null, new.department_id,
                                       'Problem ' || new.problem_id || ' forwarded to your department: answer within 2 working days',
                                       'problem_forwarding', new.id);
    elsif new.state in ('answered', 'misrouted') then
        perform huifang.stop_clock(new.branch_id, 'problem_forwarding', new.id,
                                   case new.state when 'answered' then 'answered' else 'sent back as not ours' end);
        perform huifang.notify_handoff(new.branch_id, huifang.triage_role(problem.department_id), null, problem.department_id,
                                       'Problem ' || new.problem_id || case new.state when 'answered' then ': a department answered'
                                           else ': a department says it is not theirs — forward it again' end,
                                       'problem', new.problem_id);
    end if;
    return null;
end
$$;

-- The clocks left open after their work ended: stopped at the moment it ended.
update huifang.timers t set state = 'stopped', next_fire_at = null, stopped_at = x.closed_at, stop_reason = 'task ' || x.state
from huifang.callback_tasks x
where t.state = 'done' and t.subject_kind = 'callback_task' and x.branch_id = t.branch_id and x.id = t.subject_id
  and x.state in ('completed', 'unreachable', 'cancelled');

update huifang.timers t set state = 'stopped', next_fire_at = null, stopped_at = x.submitted_at, stop_reason = 'upload submitted'
from huifang.record_uploads x
where t.state = 'done' and t.subject_kind = 'record_upload' and x.branch_id = t.branch_id and x.id = t.subject_id
  and x.state = 'submitted';

update huifang.timers t set state = 'stopped', next_fire_at = null, stopped_at = x.sent_at, stop_reason = 'feedback sent'
from huifang.directive_feedback x
where t.state = 'done' and t.subject_kind = 'directive_feedback' and x.branch_id = t.branch_id and x.id = t.subject_id
  and x.sent_at is not null;

update huifang.timers t set state = 'stopped', next_fire_at = null, stopped_at = x.closed_at, stop_reason = 'relayed to the client'
from huifang.problems x
where t.state = 'done' and t.subject_kind = 'problem' and t.clock = 'problem_loop' and x.branch_id = t.branch_id
  and x.id = t.subject_id and x.state = 'closed';

-- A forwarding sent back as not theirs keeps no time of its own: its timeline event has it.
update huifang.timers t set state = 'stopped', next_fire_at = null,
       stopped_at = case when x.state = 'misrouted'
                         then coalesce((select max(e.at) from huifang.problem_events e
                                        where e.branch_id = x.branch_id and e.forwarding_id = x.id and e.to_state = 'misrouted'), now())
                         else x.answered_at end,
       stop_reason = case when x.state = 'misrouted' then 'sent back as not ours' else 'answered' end
from huifang.problem_forwardings x
where t.state = 'done' and t.subject_kind = 'problem_forwarding' and x.branch_id = t.branch_id and x.id = t.subject_id
  and x.state in ('answered', 'accepted', 'answer_rejected', 'misrouted');
