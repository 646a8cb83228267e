-- Problems and needs found in callbacks (Art 17–19): approval, HQ triage, forwarding to a
-- functional department (2 working days), relay to the branch and client, the 15-working-day loop,
-- and the append-only timeline.
-- Tables: problems, problem_routes, problem_events, problem_forwardings, problem_relays,
-- problem_transitions, problem_forwarding_transitions (0014, 0015, 0026), problem_state_totals (0070).

-- ══ functions and the triggers that call them ══

-- Raising (replaces 0014's): the kind of record decides the route and the approving leader; a
-- follow-up of a closed problem (reopen) goes straight back to the department that handled it.
create or replace function huifang.problems_before_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    finding huifang.record_findings;
    performer bigint;
    record_state text;
    form text;
    original huifang.problems;
begin
    if new.reopened_from is not null then
        new.finding_id := null;
    end if;
    -- The finding's record by its whole key, bound as values: joined, the record's year was not
    -- known when the statement started, and it set up a scan of every year (1–2 ms a raise).
    select f.record_id, f.record_created_at into finding.record_id, finding.record_created_at
    from huifang.record_findings f where f.branch_id = new.branch_id and f.id = new.finding_id;
    if not huifang.in_record_scope(new.branch_id, coalesce((
            select array_remove(array[r.hq_department_id, r.executor_department_id], null)
            from huifang.records r
            where r.branch_id = new.branch_id and r.id = finding.record_id and r.created_at = finding.record_created_at), '{}')) then
        raise exception 'not in your scope' using errcode = '42501', constraint = 'problems_raiser';
    end if;
    new.raised_by := huifang.scope_staff_id();
    new.raised_at := now();
    new.updated_at := now();
    new.version := 1;
    new.state := 'raised';
    new.last_action := 'raise';
    new.department_id := null;
    if new.reopened_from is not null then
        select * into original from huifang.problems where branch_id = new.branch_id and id = new.reopened_from;
        if not found or (session_user::text = 'huifang_app' and new.raised_by is distinct from original.raised_by and not exists (
            select from huifang.role_grants g where g.staff_id = new.raised_by and g.branch_id = new.branch_id and g.revoked_at is null
              and g.role = case when original.via = 'service' then 'marketing_director' else 'ops_director' end)) then
            raise exception 'the raiser or the branch leader reopens a problem' using errcode = '42501', constraint = 'problems_actor';
        end if;
        perform from huifang.problems where branch_id = new.branch_id and id = new.reopened_from for update;
        if original.state <> 'closed' or original.closed_at < now() - interval '30 days' then
            raise exception 'a problem is reopened within 30 days of its closing' using errcode = '23514', constraint = 'problems_reopen';
        end if;
        if exists (select from huifang.problems p where p.branch_id = new.branch_id and p.reopened_from = original.id) then
            raise exception 'problem % was reopened already', original.id using errcode = '23514', constraint = 'problems_reopen';
        end if;
        new.client_id := original.client_id;
        new.record_id := null;
        new.finding_id := null;
        new.via := original.via;
        new.category := original.category;
        new.state := 'at_hq';
        new.last_action := 'reopen';
        new.department_id := original.department_id;
        return new;
    end if;
    if new.finding_id is not null then
        select * into finding from huifang.record_findings where branch_id = new.branch_id and id = new.finding_id for update;
        select r.performer_staff_id, r.state, r.client_id, r.form_code into performer, record_state, new.client_id, form
        from huifang.records r where r.branch_id = new.branch_id and r.id = finding.record_id and r.created_at = finding.record_created_at;
        new.record_id := finding.record_id;
        new.record_created_at := finding.record_created_at;
        new.via := case when form = 'service' then 'service' else 'compliance' end;
        if performer is distinct from new.raised_by then
            raise exception 'the performer of the record raises its findings' using errcode = '42501', constraint = 'problems_raiser';
        end if;
        if record_state = 'draft' or record_state = 'returned' then
            raise exception 'a finding is raised once its record is signed' using errcode = '23514', constraint = 'problems_raise';
        end if;
        if finding.raised_at is not null then
            raise exception 'finding % was raised already (problem %)', finding.id, finding.problem_id
                using errcode = '23505', constraint = 'problems_once_per_finding';
        end if;
        if finding.dismissed_at is not null then
            raise exception 'finding % was dismissed: %', finding.id, finding.dismissal_reason
                using errcode = '23505', constraint = 'problems_once_per_finding';
        end if;
    end if;
    return new;
end
$$;

create or replace trigger problems_before_insert
    before insert on huifang.problems
    for each row execute function huifang.problems_before_insert();

create or replace function huifang.problems_after_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.finding_id is not null then
        update huifang.record_findings set raised_at = new.raised_at, raised_by = new.raised_by, problem_id = new.id
        where branch_id = new.branch_id and id = new.finding_id;
        perform huifang.stop_clock(new.branch_id, 'record_finding', new.finding_id, 'raised', 'finding_handling');
    end if;
    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
    values (new.branch_id, 'problem', new.id, 'problem_loop', new.raised_at, 15, 'Problem ' || new.id || ': final feedback to the client',
            jsonb_build_array(jsonb_build_object('role', 'responsible_person', 'branchId', new.branch_id)),
            case when new.department_id is null
                 then jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', new.branch_id))
                 else jsonb_build_array(jsonb_build_object('role', huifang.triage_role(new.department_id), 'departmentId', new.department_id))
            end
            || jsonb_build_array(jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                   (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))));
    insert into huifang.problem_events (branch_id, problem_id, actor_staff_id, action, to_state, detail)
    values (new.branch_id, new.id, new.raised_by, new.last_action, new.state,
            jsonb_strip_nulls(jsonb_build_object('reopenedFrom', new.reopened_from, 'reason', new.reopen_reason,
                                                 'findingId', new.finding_id, 'category', new.category)));
    if new.state = 'raised' then
        perform huifang.notify_handoff(new.branch_id, case when new.via = 'service' then 'marketing_director' else 'ops_director' end,
                                       new.branch_id, null, 'Problem ' || new.id || ' raised: approve or return it', 'problem', new.id);
    else
        perform huifang.notify_handoff(new.branch_id, huifang.triage_role(new.department_id), null, new.department_id,
                                       'Problem ' || new.id || ' reopened: the client is not satisfied', 'problem', new.id);
    end if;
    return null;
end
$$;

create or replace trigger problems_after_insert
    after insert on huifang.problems
    for each row execute function huifang.problems_after_insert();

-- A hand-off notice to the role that now holds the work.
create or replace function huifang.notify_handoff(p_branch integer, p_role text, p_recipient_branch integer, p_department integer,
                                       p_title text, p_kind text, p_id bigint) returns void
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        insert into huifang.notifications (branch_id, recipient_role, recipient_branch_id, recipient_department_id, kind, title,
                                           subject_kind, subject_id)
        values (p_branch, p_role, p_recipient_branch, p_department, 'handoff', p_title, p_kind, p_id);
    end
    $$;
revoke execute on function huifang.notify_handoff(integer,text,integer,integer,text,text,bigint) from public;

create or replace function huifang.triage_role(p_department integer) returns text
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        return (select case kind when 'sales_trading' then 'sales_trading_hq' when 'risk_control' then 'risk_control_hq'
                         else 'brokerage_ops_center' end
        from huifang.departments where id = p_department);
    end
    $$;
revoke execute on function huifang.triage_role(integer) from public;

-- A change of a forwarding changes what the problem shows: its version moves too (a "touch",
-- which only the triggers make), so an ETag read before it is stale.
create or replace function huifang.problem_touch_only(a huifang.problems, b huifang.problems) returns boolean
    language plpgsql immutable
    as $$
begin
    a.version := b.version;
    a.updated_at := b.updated_at;
    return a is not distinct from b;
end
$$;

-- Whether a staff member may hold a department's work now: active, with a live grant there (of
-- p_role when given) — a problem of an HQ department, a forwarding to a functional one.
create or replace function huifang.may_work_for_department(p_staff bigint, p_department integer, p_role text default null)
    returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.staff s where s.id = p_staff and s.status = 'active')
           and exists (select from huifang.role_grants g
                       where g.staff_id = p_staff and g.department_id = p_department and g.revoked_at is null
                         and (p_role is null or g.role = p_role))
    $$;
revoke execute on function huifang.may_work_for_department(bigint,integer,text) from public;

create or replace function huifang.problems_before_update() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    rule huifang.problem_transitions;
    actor bigint := huifang.scope_staff_id();
    allowed boolean;
begin
    if huifang.problem_touch_only(new, old) and coalesce(current_setting('huifang.touching', true), '') = old.id::text then
        new.version := old.version + 1;
        new.updated_at := now();
        return new;
    end if;
    if (new.branch_id, new.id, new.client_id, new.record_id, new.finding_id, new.raised_by, new.raised_at, new.via,
        new.reopened_from) is distinct from
       (old.branch_id, old.id, old.client_id, old.record_id, old.finding_id, old.raised_by, old.raised_at, old.via,
        old.reopened_from) then
        raise exception 'who raised a problem, about whom and from what never changes'
            using errcode = '55000', constraint = 'problems_fixed';
    end if;
    -- Released (huifang.release_work_of, issue 19 A5): only when the assignee may no longer hold it;
    -- the problem goes back to unclaimed (from in triage to at HQ) and nothing else changes.
    if new.last_action = 'release' then
        if old.assignee_staff_id is null or huifang.may_work_for_department(old.assignee_staff_id, old.department_id) then
            raise exception 'a problem is released only when its assignee may no longer hold it'
                using errcode = '23514', constraint = 'problems_transition';
        end if;
        new := old;
        new.assignee_staff_id := null;
        new.last_action := 'release';
        new.state := case when old.state = 'in_triage' then 'at_hq' else old.state end;
        new.version := old.version + 1;
        new.updated_at := now();
        return new;
    end if;
    -- Each step writes its own columns and no others.
    if (new.assignee_staff_id is distinct from old.assignee_staff_id and new.last_action not in ('assign', 'claim'))
       or (new.return_reason is distinct from old.return_reason and new.last_action <> 'return')
       or (new.description is distinct from old.description and new.last_action <> 'resubmit')
       or (new.info_request is distinct from old.info_request and new.last_action <> 'request_info')
       or (new.info_reply is distinct from old.info_reply and new.last_action <> 'provide_info')
       or (new.resolution is distinct from old.resolution and new.last_action not in ('resolve', 'accept'))
       or (new.rejection_reason is distinct from old.rejection_reason and new.last_action <> 'reject') then
        raise exception 'the step % does not change that', new.last_action using errcode = '55000', constraint = 'problems_fixed';
    end if;
    select * into rule from huifang.problem_transitions t where t.from_state = old.state and t.action = new.last_action;
    if rule.action is null or rule.to_state <> new.state then
        raise exception 'a problem that is % cannot %', old.state, new.last_action
            using errcode = '23514', constraint = 'problems_transition';
    end if;
    allowed := case rule.role
        when 'hq' then exists (select from huifang.role_grants g where g.staff_id = actor and g.department_id = old.department_id
                               and g.revoked_at is null and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq'))
        when 'branch_leader' then exists (select from huifang.role_grants g where g.staff_id = actor and g.branch_id = old.branch_id
                               and g.revoked_at is null
                               and g.role = case when old.via = 'service' then 'marketing_director' else 'ops_director' end)
        else actor = old.raised_by or exists (select from huifang.role_grants g where g.staff_id = actor
                               and g.branch_id = old.branch_id and g.revoked_at is null
                               and g.role = case when old.via = 'service' then 'marketing_director' else 'ops_director' end)
    end;
    if not allowed then
        raise exception 'the % of this problem takes the step %', rule.role, rule.action
            using errcode = '42501', constraint = 'problems_actor';
    end if;
    if new.last_action = 'approve' then
        new.approved_by := actor;
        new.approved_at := now();
        select min(d.id) into new.department_id
        from huifang.problem_routes r join huifang.departments d on d.kind = r.department_kind and d.status = 'active'
        where r.category = old.category and r.via = old.via;
        if new.department_id is null then
            raise exception 'no active HQ department receives % problems', old.category using errcode = '23514',
                constraint = 'problems_route';
        end if;
    elsif new.last_action = 'return' and (new.return_reason is null or btrim(new.return_reason) = '') then
        raise exception 'a problem is returned with a reason' using errcode = '23514', constraint = 'problems_transition';
    elsif new.last_action = 'claim' then
        new.assignee_staff_id := actor;
    elsif new.last_action = 'assign' and not exists (
        select from huifang.role_grants g where g.staff_id = new.assignee_staff_id and g.department_id = old.department_id
        and g.revoked_at is null) then
        raise exception 'staff % is not in the department that handles this problem', new.assignee_staff_id
            using errcode = '23514', constraint = 'problems_assignee';
    elsif new.last_action = 'accept' and (exists (
        select from huifang.problem_forwardings f where f.branch_id = old.branch_id and f.problem_id = old.id
        and f.state in ('received', 'acknowledged', 'answered')) or not exists (
        select from huifang.problem_forwardings f where f.branch_id = old.branch_id and f.problem_id = old.id and f.state = 'accepted')) then
        raise exception 'every forwarding is answered and reviewed, and one answer accepted, before the problem is answered'
            using errcode = '23514', constraint = 'problems_transition';
    elsif new.last_action = 'forward' and not exists (
        select from huifang.problem_forwardings f where f.branch_id = old.branch_id and f.problem_id = old.id
          and f.state in ('received', 'acknowledged', 'answered')) then
        raise exception 'a problem is forwarded to at least one department' using errcode = '23514', constraint = 'problems_transition';
    elsif new.last_action in ('relay', 'relay_client') and coalesce(current_setting('huifang.relaying', true), '') <> old.id::text then
        raise exception 'a relay is recorded as a relay (POST /problems/{id}/relays)' using errcode = '23514',
            constraint = 'problems_transition';
    end if;
    if new.last_action = 'relay_client' then
        new.closed_at := now();
    end if;
    new.version := old.version + 1;
    new.updated_at := now();
    return new;
end
$$;

create or replace trigger problems_before_update
    before update on huifang.problems
    for each row execute function huifang.problems_before_update();

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
                'released', case when new.last_action = 'release' then old.assignee_staff_id end,
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

create or replace trigger problems_after_update
    after update on huifang.problems
    for each row execute function huifang.problems_after_update();

-- Forwardings: created by the problem's department (its 2-day clock starts at receipt), then
-- acknowledged, answered or sent back by the receiving department, and reviewed by HQ.
create or replace function huifang.problem_forwardings_before() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor bigint := huifang.scope_staff_id();
    problem huifang.problems;
begin
    select * into problem from huifang.problems where branch_id = new.branch_id and id = new.problem_id;
    if tg_op = 'INSERT' then
        if not found or not exists (select from huifang.role_grants g where g.staff_id = actor and g.department_id = problem.department_id
                       and g.revoked_at is null and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')) then
            raise exception 'the department handling the problem forwards it' using errcode = '42501', constraint = 'problems_actor';
        end if;
        if problem.state not in ('at_hq', 'in_triage', 'forwarded') then
            raise exception 'a problem that is % is not forwarded', problem.state using errcode = '23514',
                constraint = 'problems_transition';
        end if;
        if not exists (select from huifang.departments d where d.id = new.department_id and d.kind = 'functional' and d.status = 'active') then
            raise exception 'department % is not an active functional department', new.department_id
                using errcode = '23514', constraint = 'problem_forwardings_target';
        end if;
        if exists (select from huifang.problem_forwardings f where f.branch_id = new.branch_id and f.problem_id = new.problem_id
                   and f.department_id = new.department_id and f.state in ('received', 'acknowledged', 'answered')) then
            raise exception 'department % is already working on this problem', new.department_id
                using errcode = '23514', constraint = 'problem_forwardings_department';
        end if;
        new.forwarded_by := actor;
        new.received_at := now();
        new.state := 'received';
        new.version := 1;
        return new;
    end if;
    if (new.branch_id, new.id, new.problem_id, new.department_id, new.forwarded_by, new.received_at)
       is distinct from (old.branch_id, old.id, old.problem_id, old.department_id, old.forwarded_by, old.received_at) then
        raise exception 'where a problem was forwarded, by whom and when never changes' using errcode = '55000',
            constraint = 'problems_fixed';
    end if;
    -- Released (huifang.release_work_of, issue 19 A5): an acknowledged forwarding whose acknowledger
    -- may no longer answer it is received again, for anyone of the department.
    if old.state = 'acknowledged' and new.state = 'received' then
        if huifang.may_work_for_department(old.acknowledged_by, old.department_id, 'functional_dept') then
            raise exception 'a forwarding is released only when whoever acknowledged it may no longer answer it'
                using errcode = '23514', constraint = 'problem_forwardings_transition';
        end if;
        new := old;
        new.state := 'received';
        new.acknowledged_at := null;
        new.acknowledged_by := null;
        new.version := old.version + 1;
        return new;
    end if;
    if not exists (select from huifang.problem_forwarding_transitions t where t.from_state = old.state and t.to_state = new.state) then
        raise exception 'a forwarding that is % cannot become %', old.state, new.state using errcode = '23514',
            constraint = 'problem_forwardings_transition';
    end if;
    -- The department writes its answer or suggestion; HQ its review note; neither the other's.
    if (new.answer is distinct from old.answer and new.state <> 'answered')
       or (new.suggestion is distinct from old.suggestion and new.state <> 'misrouted')
       or (new.review_note is distinct from old.review_note and new.state not in ('accepted', 'answer_rejected')) then
        raise exception 'a forwarding''s step writes only its own text' using errcode = '55000', constraint = 'problems_fixed';
    end if;
    if new.state in ('acknowledged', 'answered', 'misrouted') then
        if not exists (select from huifang.role_grants g where g.staff_id = actor and g.department_id = old.department_id
                       and g.revoked_at is null and g.role = 'functional_dept') then
            raise exception 'the department it was forwarded to takes this step' using errcode = '42501', constraint = 'problems_actor';
        end if;
        if new.state = 'acknowledged' then
            new.acknowledged_at := now();
            new.acknowledged_by := actor;
        elsif new.state = 'answered' then
            new.answered_at := now();
            new.answered_by := actor;
        end if;
    else
        if not exists (select from huifang.role_grants g where g.staff_id = actor and g.department_id = problem.department_id
                       and g.revoked_at is null and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')) then
            raise exception 'the department handling the problem reviews the answers' using errcode = '42501',
                constraint = 'problems_actor';
        end if;
        new.reviewed_at := now();
        new.reviewed_by := actor;
    end if;
    new.version := old.version + 1;
    return new;
end
$$;

create or replace trigger problem_forwardings_before
    before insert or update on huifang.problem_forwardings
    for each row execute function huifang.problem_forwardings_before();

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

create or replace trigger problem_forwardings_after
    after insert or update on huifang.problem_forwardings
    for each row execute function huifang.problem_forwardings_after();

create or replace function huifang.problem_relays_before_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    problem huifang.problems;
begin
    select * into problem from huifang.problems where branch_id = new.branch_id and id = new.problem_id;
    if not found or not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id()
                   and g.department_id = problem.department_id and g.revoked_at is null
                   and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')) then
        raise exception 'the department handling the problem relays its answer' using errcode = '42501', constraint = 'problems_actor';
    end if;
    if problem.state not in ('answered', 'rejected') then
        raise exception 'a problem is relayed once HQ has its answer (it is %)', problem.state using errcode = '23514',
            constraint = 'problems_transition';
    end if;
    if new.relayed_at < problem.raised_at or new.relayed_at > now() + interval '1 minute' then
        raise exception 'a relay happens between the raising and now' using errcode = '23514', constraint = 'problems_relay_time';
    end if;
    if new.recipient = 'client' and (select count(*) from huifang.problem_relays r where r.branch_id = new.branch_id
        and r.problem_id = new.problem_id and r.recipient in ('branch_leader', 'responsible_person')) < 2 then
        raise exception 'the answer goes to the branch leader and the responsible person before the client'
            using errcode = '23514', constraint = 'problems_relay_order';
    end if;
    new.relayed_by := huifang.scope_staff_id();
    return new;
end
$$;

create or replace trigger problem_relays_before_insert
    before insert on huifang.problem_relays
    for each row execute function huifang.problem_relays_before_insert();

-- A relay is a step of its problem, in the same statement: the relay to the client closes it.
create or replace function huifang.problem_relays_after_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform set_config('huifang.relaying', new.problem_id::text, true);
    update huifang.problems
    set last_action = case when new.recipient = 'client' then 'relay_client' else 'relay' end,
        state = case when new.recipient = 'client' then 'closed' else state end
    where branch_id = new.branch_id and id = new.problem_id;
    perform set_config('huifang.relaying', '', true);
    return null;
end
$$;

create or replace trigger problem_relays_after_insert
    after insert on huifang.problem_relays
    for each row execute function huifang.problem_relays_after_insert();

create or replace function huifang.problem_history_append_only() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'a problem''s history is never changed' using errcode = '55000', constraint = 'problems_fixed';
end
$$;

create or replace trigger problem_relays_append_only before update or delete on huifang.problem_relays
    for each row execute function huifang.problem_history_append_only();

create or replace trigger problem_events_append_only before update or delete on huifang.problem_events
    for each row execute function huifang.problem_history_append_only();

create or replace trigger problems_no_delete before delete on huifang.problems
    for each row execute function huifang.problem_history_append_only();

create or replace trigger problem_forwardings_no_delete before delete on huifang.problem_forwardings
    for each row execute function huifang.problem_history_append_only();

-- The open problems per branch, department, state and holder that each statement
-- adds and removes, appended to problem_state_totals; a closed problem is counted nowhere.
create or replace function huifang.problems_count_states() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if tg_op = 'INSERT' then
        insert into huifang.problem_state_totals (branch_id, department_id, state, assignee_staff_id, problems)
        select branch_id, department_id, state, assignee_staff_id, count(*)::int
        from added where state <> 'closed' group by 1, 2, 3, 4;
    else
        insert into huifang.problem_state_totals (branch_id, department_id, state, assignee_staff_id, problems)
        select branch_id, department_id, state, assignee_staff_id, sum(n)::int
        from (select branch_id, department_id, state, assignee_staff_id, -1 as n from removed where state <> 'closed'
              union all
              select branch_id, department_id, state, assignee_staff_id, 1 from added where state <> 'closed') u
        group by 1, 2, 3, 4 having sum(n) <> 0;
    end if;
    return null;
end
$$;
revoke execute on function huifang.problems_count_states() from public;

create or replace trigger problems_count_states_insert
    after insert on huifang.problems referencing new table as added
    for each statement execute function huifang.problems_count_states();

create or replace trigger problems_count_states_update
    after update on huifang.problems referencing old table as removed new table as added
    for each statement execute function huifang.problems_count_states();

-- Folds problem_state_totals into one row per key, counted again from the problems (as
-- huifang.recount_open_clock_totals does for the clocks: one statement, one snapshot, one fold at a time).
create or replace function huifang.recount_problem_state_totals()
    returns bigint
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    folded bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('huifang.recount_problem_state_totals')) then
        return 0;
    end if;
    with gone as (
        delete from huifang.problem_state_totals returning 1
    ), counted as (
        insert into huifang.problem_state_totals (branch_id, department_id, state, assignee_staff_id, problems)
        select branch_id, department_id, state, assignee_staff_id, count(*)::int
        from huifang.problems where state <> 'closed' group by 1, 2, 3, 4
        returning 1
    )
    select (select count(*) from gone) into folded;
    return folded;
end
$$;
comment on function huifang.recount_problem_state_totals() is
    'Replaces the rows of problem_state_totals by one per key, counted from the open problems; how many rows it folded';
revoke execute on function huifang.recount_problem_state_totals() from public;
grant execute on function huifang.recount_problem_state_totals() to huifang_app;

-- Problems: the branch's own; the HQ department they were routed to; a functional department
-- only those forwarded to it; auditors every branch's. The forwarding test is a function that
-- reads forwardings without their policy, which reads problems (policies must not recurse).
create or replace function huifang.problems_forwarded_to_scope() returns table (branch_id integer, problem_id bigint)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select distinct f.branch_id, f.problem_id from huifang.problem_forwardings f
        where cardinality(huifang.scope_department_ids()) > 0 and f.department_id = any (huifang.scope_department_ids())
    $$;
grant execute on function huifang.problems_forwarded_to_scope() to huifang_app;

create or replace function huifang.department_problem_clocks() returns table (branch_id integer, subject_kind text, subject_id bigint)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select p.branch_id, 'problem', p.id from huifang.problems p
        where cardinality(huifang.scope_department_ids()) > 0 and p.department_id = any (huifang.scope_department_ids())
        union all
        select f.branch_id, 'problem_forwarding', f.id from huifang.problem_forwardings f
        where cardinality(huifang.scope_department_ids()) > 0 and f.department_id = any (huifang.scope_department_ids())
        union all
        select f.branch_id, 'problem', f.problem_id from huifang.problem_forwardings f
        where cardinality(huifang.scope_department_ids()) > 0 and f.department_id = any (huifang.scope_department_ids())
        union all
        select f.branch_id, 'problem_forwarding', f.id from huifang.problems p
        join huifang.problem_forwardings f on f.branch_id = p.branch_id and f.problem_id = p.id
        where cardinality(huifang.scope_department_ids()) > 0 and p.department_id = any (huifang.scope_department_ids())
    $$;
grant execute on function huifang.department_problem_clocks() to huifang_app;

-- A problem changes hands when it is approved (routed) — its clock follows.
create or replace function huifang.problems_move_clock() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.timers set department_id = new.department_id
    where branch_id = new.branch_id and subject_kind = 'problem' and subject_id = new.id;
    return null;
end
$$;
revoke execute on function huifang.problems_move_clock() from public;

-- (No column list: the routing trigger sets department_id, which no UPDATE names.)
create or replace trigger problems_move_clock
    after update on huifang.problems
    for each row when (new.department_id is distinct from old.department_id)
    execute function huifang.problems_move_clock();

create or replace function huifang.problem_forwarded_to_department(p_branch integer, p_problem bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.problem_forwardings f
                       where f.branch_id = p_branch and f.problem_id = p_problem
                         and f.department_id = any (huifang.scope_department_ids()))
    $$
cost 1000;
revoke execute on function huifang.problem_forwarded_to_department(integer,bigint) from public;
grant execute on function huifang.problem_forwarded_to_department(integer,bigint) to huifang_app;

-- ══ row-level security: huifang.problems ══

drop policy if exists owner_all on huifang.problems;
create policy owner_all on huifang.problems to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.problems;
create policy read_scoped on huifang.problems for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[])
           or (cardinality((select huifang.scope_department_ids())) > 0 and huifang.problem_forwarded_to_department(branch_id, id)));

-- Whether one of the caller's departments owns or executed the record (the call center performs
-- S&T HQ's callbacks). A function, not the policy's own subquery over records: that set up a scan of
-- every year of records in each insert of a problem, a branch's too, which never needs it.
create or replace function huifang.department_made_record(p_branch integer, p_record bigint, p_record_created_at timestamptz)
    returns boolean
    language plpgsql stable
    as $$
    begin
        return exists (select from huifang.records r
                       where r.branch_id = p_branch and r.id = p_record and r.created_at = p_record_created_at
                         and (r.executor_department_id = any (huifang.scope_department_ids())
                              or r.hq_department_id = any (huifang.scope_department_ids())));
    end
    $$;
grant execute on function huifang.department_made_record(integer, bigint, timestamptz) to huifang_app;

-- The call center raises the findings of the records it made, in any branch.
drop policy if exists raise_scoped on huifang.problems;
create policy raise_scoped on huifang.problems for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
                or huifang.department_made_record(branch_id, record_id, record_created_at));

drop policy if exists step_scoped on huifang.problems;
create policy step_scoped on huifang.problems for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ row-level security: huifang.problem_state_totals ══

-- As the problems they count: the branch's; HQ readers' every branch; a department its own.
drop policy if exists owner_all on huifang.problem_state_totals;
create policy owner_all on huifang.problem_state_totals to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.problem_state_totals;
create policy read_scoped on huifang.problem_state_totals for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ row-level security: huifang.problem_forwardings ══

drop policy if exists owner_all on huifang.problem_forwardings;
create policy owner_all on huifang.problem_forwardings to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.problem_forwardings;
create policy read_scoped on huifang.problem_forwardings for select to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[])
           or exists (select from huifang.problems p where p.branch_id = problem_forwardings.branch_id and p.id = problem_forwardings.problem_id
                      and (p.branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
                           or p.department_id = any ((select huifang.scope_department_ids())::integer[]))));

drop policy if exists forward_scoped on huifang.problem_forwardings;
create policy forward_scoped on huifang.problem_forwardings for insert to huifang_app
    with check (exists (select from huifang.problems p where p.branch_id = problem_forwardings.branch_id
                        and p.id = problem_forwardings.problem_id
                        and p.department_id = any ((select huifang.scope_department_ids())::integer[])));

drop policy if exists step_scoped on huifang.problem_forwardings;
create policy step_scoped on huifang.problem_forwardings for update to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[])
           or exists (select from huifang.problems p where p.branch_id = problem_forwardings.branch_id
                      and p.id = problem_forwardings.problem_id
                      and p.department_id = any ((select huifang.scope_department_ids())::integer[])))
    with check (true);

-- ══ row-level security: huifang.problem_relays ══

drop policy if exists owner_all on huifang.problem_relays;
create policy owner_all on huifang.problem_relays to current_user using (true) with check (true);

-- Relays and the problem's own steps: the branch, the HQ department it was routed to, auditors. A
-- functional department sees only the steps of its own forwardings.
drop policy if exists follows_problem on huifang.problem_relays;
create policy follows_problem on huifang.problem_relays for select to huifang_app
    using (exists (select from huifang.problems p where p.branch_id = problem_relays.branch_id and p.id = problem_relays.problem_id
                   and (p.branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
                        or p.department_id = any ((select huifang.scope_department_ids())::integer[]))));

drop policy if exists relay_scoped on huifang.problem_relays;
create policy relay_scoped on huifang.problem_relays for insert to huifang_app
    with check (exists (select from huifang.problems p where p.branch_id = problem_relays.branch_id and p.id = problem_relays.problem_id
                        and p.department_id = any ((select huifang.scope_department_ids())::integer[])));

-- ══ row-level security: huifang.problem_events ══

drop policy if exists owner_all on huifang.problem_events;
create policy owner_all on huifang.problem_events to current_user using (true) with check (true);

drop policy if exists follows_problem on huifang.problem_events;
create policy follows_problem on huifang.problem_events for select to huifang_app
    using (exists (select from huifang.problems p where p.branch_id = problem_events.branch_id and p.id = problem_events.problem_id
                   and (p.branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
                        or p.department_id = any ((select huifang.scope_department_ids())::integer[])))
           or exists (select from huifang.problem_forwardings f where f.branch_id = problem_events.branch_id
                      and f.id = problem_events.forwarding_id
                      and f.department_id = any ((select huifang.scope_department_ids())::integer[])));
