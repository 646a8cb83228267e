-- Callback records and their sign-off chain (Art 5, 12, 13), findings and the problems raised from
-- them, client profiles (Attachments 4, 5), the special-callback feedback package (Art 14) and the
-- monthly upload to HQ (Art 15).
--
-- The database holds the rules on every path:
--   * a record moves only along record_transitions, each step by the person the step names:
--     the performer submits, the leader the record names countersigns or returns (never the
--     performer), the archiving director archives;
--   * each step's signature is written here, by the trigger, with the SHA-256 of the record's
--     canonical content (record_content_hash): nobody hands in a digest of their own choosing;
--   * a countersigned record is immutable: a correction is an amendment, a new revision that
--     points at the old one and is signed again;
--   * the performer is never the client's referrer (recusal, Art 4);
--   * a task is completed in the transaction its record is signed in.

-- Records ------------------------------------------------------------------------------------------

create table huifang.records (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    form_code text not null check (form_code in ('new_account', 'existing_client', 'special', 'service')),
    form_version integer not null,
    -- 1 for a record, n + 1 for the amendment of revision n (amends_id).
    revision integer not null default 1 check (revision >= 1),
    amends_id bigint,
    amendment_reason text,
    task_id bigint,
    client_id bigint,
    broker_id bigint,
    directive_id bigint references huifang.directives,
    performer_staff_id bigint not null references huifang.staff,
    -- The leader who countersigns (Art 12: ops director; Art 13: marketing director; S&T HQ's own
    -- callbacks: its department) and who archives (the ops director, or S&T HQ).
    leader_role text not null check (leader_role in ('ops_director', 'marketing_director', 'sales_trading_hq')),
    archiver_role text not null check (archiver_role in ('ops_director', 'sales_trading_hq')),
    hq_department_id integer references huifang.departments,
    executor_department_id integer references huifang.departments,
    answers jsonb not null check (jsonb_typeof(answers) = 'object'),
    -- A service record may carry the client's profile (Attachment 4 or 5), filed when countersigned.
    profile_form_code text check (profile_form_code in ('core_client_profile', 'client_profile')),
    profile_form_version integer,
    profile_answers jsonb check (jsonb_typeof(profile_answers) = 'object'),
    state text not null default 'draft' check (state in ('draft', 'submitted', 'returned', 'countersigned', 'archived')),
    return_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    submitted_at timestamptz,
    countersigned_at timestamptz,
    countersigned_by bigint references huifang.staff,
    archived_at timestamptz,
    archived_by bigint references huifang.staff,
    -- The monthly upload that carried it to HQ.
    upload_id bigint,
    primary key (branch_id, id),
    foreign key (form_code, form_version) references huifang.record_forms (code, version),
    foreign key (profile_form_code, profile_form_version) references huifang.record_forms (code, version),
    foreign key (branch_id, task_id) references huifang.callback_tasks (branch_id, id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id),
    foreign key (branch_id, broker_id) references huifang.brokers (branch_id, id),
    foreign key (branch_id, amends_id) references huifang.records (branch_id, id),
    check ((client_id is null) <> (broker_id is null)),
    check ((revision = 1) = (amends_id is null)),
    check ((amends_id is null) = (amendment_reason is null)),
    check ((profile_form_code is null) = (profile_answers is null) and (profile_form_code is null) = (profile_form_version is null)),
    check (profile_form_code is null or form_code = 'service'),
    check ((state = 'returned') = (return_reason is not null)),
    check ((state in ('countersigned', 'archived')) = (countersigned_at is not null)),
    check ((state = 'archived') = (archived_at is not null)),
    check ((leader_role = 'sales_trading_hq') = (hq_department_id is not null))
);

-- One signed record per task and one signed amendment per revision; drafts do not count, so a
-- draft left by someone the task was taken from never blocks its new assignee.
create unique index records_once_per_task on huifang.records (branch_id, task_id)
    where task_id is not null and amends_id is null and state <> 'draft';
create unique index records_one_amendment on huifang.records (branch_id, amends_id) where amends_id is not null and state <> 'draft';
create index records_by_client on huifang.records (branch_id, client_id, created_at) where client_id is not null;
create index records_by_state on huifang.records (branch_id, state, created_at, id);
create index records_by_performer on huifang.records (branch_id, performer_staff_id, created_at);
create index records_to_upload on huifang.records (branch_id, countersigned_at)
    where upload_id is null and state in ('countersigned', 'archived');
create index records_by_directive on huifang.records (branch_id, directive_id) where directive_id is not null;
create index records_hq_work on huifang.records (hq_department_id, branch_id, id) where hq_department_id is not null;
create index records_by_upload on huifang.records (branch_id, upload_id) where upload_id is not null;

comment on table huifang.records is 'Callback records (Art 5): answers on a form version, signed by the performer and a leader';

alter table huifang.callback_tasks add foreign key (branch_id, record_id) references huifang.records (branch_id, id);

-- The steps a record may take (Domain.RecordTransitions lists the same).
create table huifang.record_transitions (
    from_state text not null,
    to_state text not null,
    step text not null,
    primary key (from_state, to_state)
);

insert into huifang.record_transitions (from_state, to_state, step) values
    ('draft', 'submitted', 'submit'),
    ('returned', 'submitted', 'submit'),
    ('submitted', 'countersigned', 'countersign'),
    ('submitted', 'returned', 'return'),
    ('countersigned', 'archived', 'archive');

-- The content a signature covers, canonical by jsonb's own key order and text form; times in UTC.
create function huifang.record_content_hash(r huifang.records) returns bytea
    language sql immutable
    as $$
        select sha256(convert_to(jsonb_build_object(
            'branchId', r.branch_id, 'recordId', r.id, 'revision', r.revision, 'amendsId', r.amends_id,
            'amendmentReason', r.amendment_reason, 'form', r.form_code, 'formVersion', r.form_version,
            'taskId', r.task_id, 'clientId', r.client_id, 'brokerId', r.broker_id, 'directiveId', r.directive_id,
            'performer', r.performer_staff_id, 'answers', r.answers, 'profileForm', r.profile_form_code,
            'profileFormVersion', r.profile_form_version, 'profile', r.profile_answers)::text, 'UTF8'))
    $$;

comment on function huifang.record_content_hash(huifang.records) is
    'SHA-256 of the canonical JSON of what a record says (jsonb key order, UTF-8); signatures store it';

create table huifang.record_signatures (
    branch_id integer not null,
    id bigint generated always as identity,
    record_id bigint not null,
    -- A return is kept here too: who sent back which text, and when.
    step text not null check (step in ('submit', 'countersign', 'return', 'archive')),
    signer_staff_id bigint not null references huifang.staff,
    signer_role text not null,
    signed_at timestamptz not null default now(),
    content_sha256 bytea not null check (length(content_sha256) = 32),
    primary key (branch_id, id),
    foreign key (branch_id, record_id) references huifang.records (branch_id, id)
);

create index record_signatures_by_record on huifang.record_signatures (branch_id, record_id, id);

comment on table huifang.record_signatures is 'Who signed which record, as whom, when, and the digest of what they signed';

-- Does the staff member hold `role` where the record is (its branch, or its HQ department)?
-- Is the row's branch (or, for HQ's own callbacks, its department) in the request's scope? The
-- definer triggers below ask first, so a request never learns about another branch's rows.
create function huifang.in_record_scope(p_branch integer, p_departments integer[]) returns boolean
    language sql stable
    as $$
        select session_user::text <> 'huifang_app' or huifang.scope_system()
            or p_branch = any (huifang.scope_branch_ids()) or p_departments && huifang.scope_department_ids()
    $$;

create function huifang.holds_record_role(p_staff bigint, p_role text, r huifang.records) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (
            select from huifang.role_grants g
            where g.staff_id = p_staff and g.role = p_role and g.revoked_at is null
              and (case when p_role = 'sales_trading_hq' then g.department_id = r.hq_department_id else g.branch_id = r.branch_id end))
    $$;

-- Who may perform a callback of this client or broker: not the one who introduced them (Art 4).
create function huifang.check_record_recusal(r huifang.records, performer bigint) returns void
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    referrer_staff bigint;
    broker_staff bigint;
begin
    if r.client_id is not null then
        select c.referrer_staff_id, b.staff_id into referrer_staff, broker_staff
        from huifang.clients c
        left join huifang.brokers b on b.branch_id = c.branch_id and b.id = c.referrer_broker_id
        where c.branch_id = r.branch_id and c.id = r.client_id;
    else
        select b.staff_id into broker_staff from huifang.brokers b where b.branch_id = r.branch_id and b.id = r.broker_id;
    end if;
    if performer = referrer_staff or performer = broker_staff then
        raise exception 'recusal (Art 4): staff % introduced this client and may not perform or record their callback', performer
            using errcode = '23514', constraint = 'records_recusal';
    end if;
end
$$;

create function huifang.records_before_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    task huifang.callback_tasks;
    previous huifang.records;
begin
    new.performer_staff_id := huifang.scope_staff_id();
    new.state := 'draft';
    new.created_at := now();
    new.updated_at := now();
    new.submitted_at := null;
    new.countersigned_at := null;
    new.countersigned_by := null;
    new.archived_at := null;
    new.archived_by := null;
    new.upload_id := null;
    new.return_reason := null;
    if not huifang.in_record_scope(new.branch_id, '{}') and new.task_id is null and new.amends_id is null then
        raise exception 'not in your scope' using errcode = '42501', constraint = 'records_signer';
    end if;
    if new.amends_id is not null then
        select * into previous from huifang.records where branch_id = new.branch_id and id = new.amends_id;
        if not found or not huifang.in_record_scope(new.branch_id, array_remove(array[previous.hq_department_id, previous.executor_department_id], null)) then
            raise exception 'not in your scope' using errcode = '42501', constraint = 'records_signer';
        end if;
        perform from huifang.records where branch_id = new.branch_id and id = new.amends_id for update;
        if new.performer_staff_id is distinct from previous.performer_staff_id
           and not huifang.holds_record_role(new.performer_staff_id, previous.archiver_role, previous) then
            raise exception 'a record is amended by its performer or by the % who keeps the archive', previous.archiver_role
                using errcode = '42501', constraint = 'records_signer';
        end if;
        if previous.state not in ('countersigned', 'archived') then
            raise exception 'only a countersigned record is amended; record % is %', previous.id, previous.state
                using errcode = '23514', constraint = 'records_amendment';
        end if;
        -- An amendment is the same callback, corrected: what it is about is the original's.
        new.revision := previous.revision + 1;
        new.form_code := previous.form_code;
        new.task_id := previous.task_id;
        new.client_id := previous.client_id;
        new.broker_id := previous.broker_id;
        new.directive_id := previous.directive_id;
        new.leader_role := previous.leader_role;
        new.archiver_role := previous.archiver_role;
        new.hq_department_id := previous.hq_department_id;
        new.executor_department_id := previous.executor_department_id;
    elsif new.task_id is not null then
        select * into task from huifang.callback_tasks where branch_id = new.branch_id and id = new.task_id;
        if not found or not huifang.in_record_scope(new.branch_id, array_remove(array[task.owner_department_id, task.executor_department_id], null)) then
            raise exception 'not in your scope' using errcode = '42501', constraint = 'records_signer';
        end if;
        perform from huifang.callback_tasks where branch_id = new.branch_id and id = new.task_id for update;
        if task.assignee_staff_id is distinct from new.performer_staff_id or task.state not in ('assigned', 'in_progress') then
            raise exception 'a task''s record is written by its assignee while the task is assigned or in progress'
                using errcode = '23514', constraint = 'records_task';
        end if;
        new.revision := 1;
        new.client_id := task.client_id;
        new.broker_id := task.broker_id;
        new.directive_id := task.directive_id;
        new.hq_department_id := task.owner_department_id;
        new.executor_department_id := task.executor_department_id;
        new.leader_role := case when task.owner_department_id is not null then 'sales_trading_hq'
                                when new.form_code = 'service' then 'marketing_director' else 'ops_director' end;
        new.archiver_role := case when task.owner_department_id is not null then 'sales_trading_hq' else 'ops_director' end;
        if new.form_code is distinct from (select r.record_form from huifang.obligation_rules r
                                           where r.code = task.rule_code and r.version = task.rule_version) then
            raise exception 'task % is recorded on the form of its rule', task.id
                using errcode = '23514', constraint = 'records_task';
        end if;
    else
        -- An ad-hoc record: a branch callback of a client of the branch.
        new.revision := 1;
        if new.client_id is null then
            raise exception 'an ad-hoc record is about a client' using errcode = '23514', constraint = 'records_task';
        end if;
        new.hq_department_id := null;
        new.executor_department_id := null;
        new.leader_role := case when new.form_code = 'service' then 'marketing_director' else 'ops_director' end;
        new.archiver_role := 'ops_director';
    end if;
    perform huifang.check_record_recusal(new, new.performer_staff_id);
    return new;
end
$$;

create trigger records_before_insert
    before insert on huifang.records
    for each row execute function huifang.records_before_insert();

-- Each step: allowed from the state, by the person it names; the trigger signs it.
create function huifang.records_before_update() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor bigint := huifang.scope_staff_id();
    step_name text;
begin
    if (new.branch_id, new.id, new.form_code, new.revision, new.amends_id, new.amendment_reason, new.task_id, new.client_id,
        new.broker_id, new.directive_id, new.performer_staff_id, new.leader_role, new.archiver_role, new.hq_department_id,
        new.executor_department_id, new.created_at)
       is distinct from (old.branch_id, old.id, old.form_code, old.revision, old.amends_id, old.amendment_reason, old.task_id,
                         old.client_id, old.broker_id, old.directive_id, old.performer_staff_id, old.leader_role,
                         old.archiver_role, old.hq_department_id, old.executor_department_id, old.created_at) then
        raise exception 'who performed a record and what it is about are fixed when it is created'
            using errcode = '55000', constraint = 'records_immutable';
    end if;
    if old.state in ('countersigned', 'archived') and (
        (new.form_version, new.answers, new.profile_form_code, new.profile_form_version, new.profile_answers)
        is distinct from (old.form_version, old.answers, old.profile_form_code, old.profile_form_version, old.profile_answers)) then
        raise exception 'record % is countersigned and can no longer change; amend it', old.id
            using errcode = '55000', constraint = 'records_immutable';
    end if;
    if new.return_reason is distinct from old.return_reason and new.state is not distinct from old.state then
        raise exception 'a return reason is the leader''s, given when returning' using errcode = '55000',
            constraint = 'records_immutable';
    end if;
    if new.state = old.state then
        if new.state not in ('draft', 'returned') and (new.upload_id is not distinct from old.upload_id) then
            raise exception 'record % is % and can no longer change', old.id, old.state
                using errcode = '55000', constraint = 'records_immutable';
        end if;
        if new.state in ('draft', 'returned') and actor is distinct from old.performer_staff_id then
            raise exception 'only the performer edits their record' using errcode = '42501', constraint = 'records_signer';
        end if;
        if new.upload_id is distinct from old.upload_id and old.upload_id is not null then
            raise exception 'record % was uploaded already', old.id using errcode = '55000', constraint = 'records_immutable';
        end if;
        new.updated_at := now();
        return new;
    end if;
    select t.step into step_name from huifang.record_transitions t where t.from_state = old.state and t.to_state = new.state;
    if step_name is null then
        raise exception 'a record cannot go from % to %', old.state, new.state
            using errcode = '23514', constraint = 'records_transition';
    end if;
    -- A step signs what the record says; it never changes it (edits are their own, earlier statement).
    if (new.form_version, new.answers, new.profile_form_code, new.profile_form_version, new.profile_answers, new.upload_id)
       is distinct from (old.form_version, old.answers, old.profile_form_code, old.profile_form_version, old.profile_answers, old.upload_id) then
        raise exception 'a step of record % signs its content and cannot change it', old.id
            using errcode = '55000', constraint = 'records_immutable';
    end if;
    if step_name <> 'return' and new.return_reason is distinct from (case when step_name = 'submit' then null else old.return_reason end) then
        raise exception 'a return reason is the leader''s, given when returning' using errcode = '55000',
            constraint = 'records_immutable';
    end if;
    new.updated_at := now();
    if step_name = 'submit' then
        if actor is distinct from old.performer_staff_id then
            raise exception 'only the performer signs their record' using errcode = '42501', constraint = 'records_signer';
        end if;
        perform huifang.check_record_recusal(new, actor);
        -- The task must still be the performer's (it may have been reassigned since the draft).
        if new.task_id is not null and new.amends_id is null and not exists (
            select from huifang.callback_tasks t where t.branch_id = new.branch_id and t.id = new.task_id
              and ((t.state in ('assigned', 'in_progress') and t.assignee_staff_id = actor) or (t.state = 'completed' and t.record_id = new.id))) then
            raise exception 'task % is no longer assigned to you; this draft cannot be signed', new.task_id
                using errcode = '23514', constraint = 'records_task';
        end if;
        new.submitted_at := now();
        new.return_reason := null;
    elsif step_name in ('countersign', 'return') then
        if actor = old.performer_staff_id then
            raise exception 'the leader''s signature cannot be the performer''s: staff % performed record %', actor, old.id
                using errcode = '23514', constraint = 'records_leader_not_performer';
        end if;
        if not huifang.holds_record_role(actor, old.leader_role, old) then
            raise exception 'record % is countersigned by the %', old.id, old.leader_role
                using errcode = '42501', constraint = 'records_signer';
        end if;
        if step_name = 'countersign' then
            new.countersigned_at := now();
            new.countersigned_by := actor;
        elsif new.return_reason is null or btrim(new.return_reason) = '' then
            raise exception 'a record is returned with a reason' using errcode = '23514', constraint = 'records_transition';
        end if;
    elsif step_name = 'archive' then
        if not huifang.holds_record_role(actor, old.archiver_role, old) then
            raise exception 'record % is archived by the %', old.id, old.archiver_role
                using errcode = '42501', constraint = 'records_signer';
        end if;
        new.archived_at := now();
        new.archived_by := actor;
    end if;
    return new;
end
$$;

create trigger records_before_update
    before update on huifang.records
    for each row execute function huifang.records_before_update();

create function huifang.records_no_delete() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'records are never deleted' using errcode = '55000', constraint = 'records_immutable';
end
$$;

create trigger records_no_delete before delete on huifang.records for each row execute function huifang.records_no_delete();
create trigger records_no_truncate before truncate on huifang.records for each statement execute function huifang.records_no_delete();
create trigger record_signatures_no_change before update or delete on huifang.record_signatures
    for each row execute function huifang.records_no_delete();
create trigger record_signatures_no_truncate before truncate on huifang.record_signatures
    for each statement execute function huifang.records_no_delete();

-- After a step: the signature, the task it completes, the profile it files.
create function huifang.records_after_step() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    step_name text;
    signer_role text;
begin
    select t.step into step_name from huifang.record_transitions t where t.from_state = old.state and t.to_state = new.state;
    if step_name is not null then
        signer_role := case step_name when 'submit' then 'performer' when 'archive' then new.archiver_role else new.leader_role end;
        insert into huifang.record_signatures (branch_id, record_id, step, signer_staff_id, signer_role, content_sha256)
        values (new.branch_id, new.id, step_name, huifang.scope_staff_id(), signer_role, huifang.record_content_hash(new));
    end if;
    if step_name = 'submit' and new.task_id is not null and new.amends_id is null then
        update huifang.callback_tasks set state = 'in_progress', started_at = now()
        where branch_id = new.branch_id and id = new.task_id and state = 'assigned';
        update huifang.callback_tasks
        set state = 'completed', closed_at = now(), closed_by = new.performer_staff_id, record_id = new.id
        where branch_id = new.branch_id and id = new.task_id and state = 'in_progress';
    end if;
    if step_name = 'countersign' and new.profile_form_code is not null then
        insert into huifang.client_profiles (branch_id, client_id, form_code, form_version, answers, record_id, recorded_by)
        values (new.branch_id, new.client_id, new.profile_form_code, new.profile_form_version, new.profile_answers, new.id,
                new.performer_staff_id);
    end if;
    return null;
end
$$;

create trigger records_after_step
    after update of state on huifang.records
    for each row when (new.state is distinct from old.state)
    execute function huifang.records_after_step();

-- Findings and the problems raised from them -----------------------------------------------------

-- Problems found, and clients' opinions and needs (Art 5, 17): one row each, written from the
-- record's `findings` answer when it is submitted; the performer raises any of them for HQ.
create table huifang.record_findings (
    branch_id integer not null,
    id bigint generated always as identity,
    record_id bigint not null,
    position integer not null check (position >= 0),
    kind text not null check (kind in ('problem', 'opinion', 'need')),
    text text not null check (btrim(text) <> ''),
    raised_at timestamptz,
    raised_by bigint references huifang.staff,
    problem_id bigint,
    primary key (branch_id, id),
    unique (branch_id, record_id, position),
    foreign key (branch_id, record_id) references huifang.records (branch_id, id),
    check ((raised_at is null) = (problem_id is null) and (raised_at is null) = (raised_by is null))
);

create function huifang.records_write_findings() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    -- On resubmission (after a return) the findings follow the answers again; those raised already
    -- stay (they have their problems), and new ones come after them.
    delete from huifang.record_findings f
    where f.branch_id = new.branch_id and f.record_id = new.id and f.raised_at is null;
    insert into huifang.record_findings (branch_id, record_id, position, kind, text)
    select new.branch_id, new.id,
           (coalesce((select max(f.position) + 1 from huifang.record_findings f where f.branch_id = new.branch_id and f.record_id = new.id), 0)
            + row_number() over (order by item.ordinality) - 1)::int,
           item.value ->> 'kind', item.value ->> 'text'
    from jsonb_array_elements(case when jsonb_typeof(new.answers -> 'findings') = 'array' then new.answers -> 'findings'
                                   else '[]'::jsonb end) with ordinality item
    where not exists (select from huifang.record_findings f where f.branch_id = new.branch_id and f.record_id = new.id
                      and f.kind = item.value ->> 'kind' and f.text = item.value ->> 'text');
    return null;
end
$$;

create trigger records_write_findings
    after update of state on huifang.records
    for each row when (new.state = 'submitted' and old.state is distinct from 'submitted')
    execute function huifang.records_write_findings();

-- Problems (问题 / 需求). This migration stores the raising and its 15-working-day clock (Art 19);
-- the workflow after it (approval, HQ triage, forwarding) is added by a later migration.
create table huifang.problems (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    client_id bigint not null,
    record_id bigint,
    finding_id bigint,
    category text not null check (category in (
        'client_complaint', 'service_need', 'product_need', 'system_issue', 'compliance_risk', 'data_error', 'other')),
    severity text not null check (severity in ('low', 'medium', 'high')),
    description text not null check (btrim(description) <> ''),
    raised_by bigint not null references huifang.staff,
    raised_at timestamptz not null default now(),
    state text not null default 'raised',
    primary key (branch_id, id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id),
    foreign key (branch_id, record_id) references huifang.records (branch_id, id),
    foreign key (branch_id, finding_id) references huifang.record_findings (branch_id, id),
    check ((record_id is null) = (finding_id is null))
);

create unique index problems_once_per_finding on huifang.problems (branch_id, finding_id) where finding_id is not null;
create index problems_by_client on huifang.problems (branch_id, client_id, raised_at);

alter table huifang.record_findings add foreign key (branch_id, problem_id) references huifang.problems (branch_id, id);

comment on table huifang.problems is 'Problems and needs raised for HQ; the 15-working-day clock runs from raised_at';

create function huifang.problems_before_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    finding huifang.record_findings;
    performer bigint;
    record_state text;
begin
    new.raised_by := huifang.scope_staff_id();
    new.raised_at := now();
    new.state := 'raised';
    if not huifang.in_record_scope(new.branch_id, '{}') then
        raise exception 'not in your scope' using errcode = '42501', constraint = 'problems_raiser';
    end if;
    if new.finding_id is not null then
        select * into finding from huifang.record_findings where branch_id = new.branch_id and id = new.finding_id for update;
        select r.performer_staff_id, r.state, r.client_id into performer, record_state, new.client_id
        from huifang.records r where r.branch_id = new.branch_id and r.id = finding.record_id;
        new.record_id := finding.record_id;
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
    end if;
    return new;
end
$$;

create trigger problems_before_insert
    before insert on huifang.problems
    for each row execute function huifang.problems_before_insert();

create function huifang.problems_after_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.finding_id is not null then
        update huifang.record_findings set raised_at = new.raised_at, raised_by = new.raised_by, problem_id = new.id
        where branch_id = new.branch_id and id = new.finding_id;
    end if;
    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
    values (new.branch_id, 'problem', new.id, 'problem_loop', new.raised_at, 15, 'Problem ' || new.id || ': final feedback to the client',
            jsonb_build_array(jsonb_build_object('role', 'responsible_person', 'branchId', new.branch_id)),
            jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', new.branch_id),
                              jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                  (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))));
    return null;
end
$$;

create trigger problems_after_insert
    after insert on huifang.problems
    for each row execute function huifang.problems_after_insert();

-- Client profiles (Attachments 4, 5) ----------------------------------------------------------------

-- Every version of a client's profile; the latest per form is the current one.
create table huifang.client_profiles (
    branch_id integer not null,
    id bigint generated always as identity,
    client_id bigint not null,
    form_code text not null check (form_code in ('core_client_profile', 'client_profile')),
    form_version integer not null,
    answers jsonb not null,
    record_id bigint not null,
    recorded_by bigint not null references huifang.staff,
    recorded_at timestamptz not null default now(),
    primary key (branch_id, id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id),
    foreign key (branch_id, record_id) references huifang.records (branch_id, id),
    foreign key (form_code, form_version) references huifang.record_forms (code, version)
);

create index client_profiles_by_client on huifang.client_profiles (branch_id, client_id, form_code, id);

comment on table huifang.client_profiles is 'Core-client and client profiles, kept current by countersigned service records';

-- The monthly upload (Art 15) ----------------------------------------------------------------------

create table huifang.record_uploads (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    -- The month whose records it carries, YYYY-MM; due by the end of the 10th working day after it.
    month text not null check (month ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    opened_at timestamptz not null default now(),
    state text not null default 'pending' check (state in ('pending', 'submitted')),
    submitted_at timestamptz,
    submitted_by bigint references huifang.staff,
    record_count integer,
    primary key (branch_id, id),
    unique (branch_id, month),
    check ((state = 'submitted') = (submitted_at is not null and submitted_by is not null and record_count is not null))
);

comment on table huifang.record_uploads is 'Each branch''s monthly upload of countersigned records to HQ';

alter table huifang.records add foreign key (branch_id, upload_id) references huifang.record_uploads (branch_id, id);

-- What each receiving department gets from an upload, and its acknowledgement.
create table huifang.record_upload_deliveries (
    branch_id integer not null,
    upload_id bigint not null,
    department_id integer not null references huifang.departments,
    -- compliance: new-account, existing-client and special records; service: service records'
    -- important client information.
    content text not null check (content in ('compliance', 'service')),
    record_ids bigint[] not null,
    acknowledged_at timestamptz,
    acknowledged_by bigint references huifang.staff,
    primary key (branch_id, upload_id, department_id),
    foreign key (branch_id, upload_id) references huifang.record_uploads (branch_id, id),
    check ((acknowledged_at is null) = (acknowledged_by is null))
);

create function huifang.record_upload_deliveries_acknowledge() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if old.acknowledged_at is not null then
        raise exception 'this delivery was acknowledged already' using errcode = '55000', constraint = 'record_uploads_acknowledged';
    end if;
    if (new.branch_id, new.upload_id, new.department_id, new.content, new.record_ids)
       is distinct from (old.branch_id, old.upload_id, old.department_id, old.content, old.record_ids) then
        raise exception 'what was delivered never changes' using errcode = '55000';
    end if;
    new.acknowledged_at := now();
    new.acknowledged_by := huifang.scope_staff_id();
    return new;
end
$$;

create trigger record_upload_deliveries_acknowledge
    before update on huifang.record_upload_deliveries
    for each row execute function huifang.record_upload_deliveries_acknowledge();

create index record_upload_deliveries_inbox on huifang.record_upload_deliveries (department_id, acknowledged_at, branch_id);

create function huifang.month_upload_started_at(month text) returns timestamptz
    language sql immutable
    as $$ select ((to_date(month, 'YYYY-MM') + interval '1 month')::timestamp at time zone 'Asia/Shanghai') - interval '1 second' $$;

comment on function huifang.month_upload_started_at(text) is
    'The last instant of the month (Asia/Shanghai): its upload is due by the end of the 10th working day after';

-- Opens the pending upload of `month` for every active branch, with its timer; idempotent.
create function huifang.open_record_uploads(p_month text) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    opened integer;
begin
    if p_month !~ '^\d{4}-(0[1-9]|1[0-2])$' then
        raise exception 'a month is YYYY-MM, not %', p_month using errcode = '22023';
    end if;
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'uploads are opened by the scheduler' using errcode = '42501';
    end if;
    if huifang.month_upload_started_at(p_month) > now() then
        raise exception 'the upload of % opens when the month has ended', p_month using errcode = '22023';
    end if;
    with opened_uploads as (
        insert into huifang.record_uploads (branch_id, month)
        select b.id, p_month from huifang.branches b where b.status = 'active'
        on conflict (branch_id, month) do nothing
        returning branch_id, id
    ), timers as (
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        select u.branch_id, 'record_upload', u.id, 'upload_due', huifang.month_upload_started_at(p_month), 10,
               'Upload of ' || p_month || '''s callback records',
               jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', u.branch_id)),
               jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', u.branch_id),
                                 jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                     (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active')))
        from opened_uploads u
        returning 1
    )
    select count(*) into opened from timers;
    return opened;
end
$$;

-- Submitting an upload: every countersigned record of the month or before not yet uploaded goes,
-- routed by kind; its clock stops.
create function huifang.record_uploads_submit() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    month_end timestamptz := huifang.month_upload_started_at(new.month) + interval '1 second';
begin
    if old.state = 'submitted' then
        raise exception 'upload % was submitted already', old.id using errcode = '55000', constraint = 'record_uploads_submitted';
    end if;
    if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id() and g.branch_id = new.branch_id
                   and g.role = 'ops_director' and g.revoked_at is null) then
        raise exception 'the ops director submits the branch''s upload' using errcode = '42501', constraint = 'record_uploads_submitter';
    end if;
    new.submitted_by := huifang.scope_staff_id();
    new.submitted_at := now();
    update huifang.records r set upload_id = new.id
    where r.branch_id = new.branch_id and r.upload_id is null and r.state in ('countersigned', 'archived')
      and r.countersigned_at < month_end;
    get diagnostics new.record_count = row_count;
    return new;
end
$$;

create trigger record_uploads_submit
    before update of state on huifang.record_uploads
    for each row when (new.state = 'submitted')
    execute function huifang.record_uploads_submit();

create function huifang.record_uploads_route() returns trigger
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
    update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = 'upload submitted', next_fire_at = null
    where branch_id = new.branch_id and subject_kind = 'record_upload' and subject_id = new.id and state = 'running';
    return null;
end
$$;

create trigger record_uploads_route
    after update of state on huifang.record_uploads
    for each row when (new.state = 'submitted' and old.state = 'pending')
    execute function huifang.record_uploads_route();

-- Special-callback feedback (Art 14) ---------------------------------------------------------------

-- One package per directive and branch: its records go back to the ordering department within 5
-- working days after the branch's callbacks of the directive end.
create table huifang.directive_feedback (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    directive_id bigint not null references huifang.directives,
    department_id integer not null references huifang.departments,
    ended_at timestamptz not null,
    -- tasks_closed: the branch's last task of it closed; directive_ended: its due date passed.
    ended_because text not null check (ended_because in ('tasks_closed', 'directive_ended')),
    state text not null default 'pending' check (state in ('pending', 'sent', 'acknowledged')),
    record_ids bigint[],
    sent_at timestamptz,
    sent_by bigint references huifang.staff,
    acknowledged_at timestamptz,
    acknowledged_by bigint references huifang.staff,
    primary key (branch_id, id),
    unique (branch_id, directive_id),
    check ((state in ('sent', 'acknowledged')) = (sent_at is not null and sent_by is not null and record_ids is not null)),
    check ((state = 'acknowledged') = (acknowledged_at is not null and acknowledged_by is not null))
);

create index directive_feedback_inbox on huifang.directive_feedback (department_id, state, branch_id);

comment on table huifang.directive_feedback is 'Special callback records going back to the ordering HQ department (Art 14)';

create function huifang.open_directive_feedback(p_branch integer, p_directive bigint, p_ended_at timestamptz, p_because text)
    returns void
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    package_id bigint;
    directive huifang.directives;
begin
    select * into directive from huifang.directives where id = p_directive;
    if directive.executor <> 'branch' or directive.status <> 'active' then
        return;
    end if;
    insert into huifang.directive_feedback (branch_id, directive_id, department_id, ended_at, ended_because)
    values (p_branch, p_directive, directive.department_id, p_ended_at, p_because)
    on conflict (branch_id, directive_id) do nothing
    returning id into package_id;
    if package_id is not null then
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        values (p_branch, 'directive_feedback', package_id, 'feedback_due', p_ended_at, 5,
                'Special callback records of directive ' || p_directive || ' back to HQ',
                jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', p_branch)),
                jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', p_branch),
                                  jsonb_build_object('role', (select case kind when 'sales_trading' then 'sales_trading_hq'
                                                                                when 'risk_control' then 'risk_control_hq'
                                                                                else 'brokerage_ops_center' end
                                                              from huifang.departments where id = directive.department_id),
                                                     'departmentId', directive.department_id)));
    end if;
end
$$;

create function huifang.callback_tasks_end_directive() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not exists (select from huifang.callback_tasks t where t.branch_id = new.branch_id and t.directive_id = new.directive_id
                   and t.state in ('open', 'assigned', 'in_progress')) then
        perform huifang.open_directive_feedback(new.branch_id, new.directive_id, now(), 'tasks_closed');
    end if;
    return null;
end
$$;

create trigger callback_tasks_end_directive
    after update of state on huifang.callback_tasks
    for each row when (new.directive_id is not null and new.state in ('completed', 'unreachable', 'cancelled')
                       and old.state not in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_end_directive();

-- Directives whose due date has passed (Shanghai) end in every branch that had tasks; idempotent.
create function huifang.end_due_directives() returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    pair record;
    n integer := 0;
begin
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'directives are ended by the scheduler' using errcode = '42501';
    end if;
    for pair in
        select distinct t.branch_id, d.id, d.due_on
        from huifang.directives d
        join huifang.callback_tasks t on t.directive_id = d.id
        where d.status = 'active' and d.executor = 'branch' and d.due_on < (now() at time zone 'Asia/Shanghai')::date
          -- Older directives ended long ago: every branch of theirs has its package.
          and d.due_on >= (now() at time zone 'Asia/Shanghai')::date - 90
          and not exists (select from huifang.directive_feedback f where f.branch_id = t.branch_id and f.directive_id = d.id)
    loop
        perform huifang.open_directive_feedback(pair.branch_id, pair.id,
            ((pair.due_on + 1)::timestamp at time zone 'Asia/Shanghai') - interval '1 second', 'directive_ended');
        n := n + 1;
    end loop;
    return n;
end
$$;

create function huifang.directive_feedback_step() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.state = old.state then
        raise exception 'feedback package % is % already', old.id, old.state using errcode = '55000';
    end if;
    if new.state = 'sent' then
        if old.state <> 'pending' then
            raise exception 'feedback package % was sent already', old.id using errcode = '55000';
        end if;
        if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id() and g.branch_id = new.branch_id
                       and g.role = 'ops_director' and g.revoked_at is null) then
            raise exception 'the ops director sends the branch''s special records back' using errcode = '42501',
                constraint = 'directive_feedback_sender';
        end if;
        new.sent_by := huifang.scope_staff_id();
        new.sent_at := now();
        select coalesce(array_agg(r.id order by r.id), '{}') into new.record_ids
        from huifang.records r
        where r.branch_id = new.branch_id and r.directive_id = new.directive_id and r.state in ('countersigned', 'archived')
          and not exists (select from huifang.records a where a.branch_id = r.branch_id and a.amends_id = r.id
                          and a.state in ('countersigned', 'archived'));
    elsif new.state = 'acknowledged' then
        if old.state <> 'sent' then
            raise exception 'feedback package % is acknowledged once sent', old.id using errcode = '55000';
        end if;
        if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id()
                       and g.department_id = new.department_id and g.revoked_at is null) then
            raise exception 'the ordering department acknowledges its feedback' using errcode = '42501',
                constraint = 'directive_feedback_receiver';
        end if;
        new.acknowledged_by := huifang.scope_staff_id();
        new.acknowledged_at := now();
    else
        raise exception 'a feedback package cannot go back to %', new.state using errcode = '55000';
    end if;
    return new;
end
$$;

create trigger directive_feedback_step
    before update on huifang.directive_feedback
    for each row execute function huifang.directive_feedback_step();

create function huifang.directive_feedback_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = 'feedback sent', next_fire_at = null
    where branch_id = new.branch_id and subject_kind = 'directive_feedback' and subject_id = new.id and state = 'running';
    return null;
end
$$;

create trigger directive_feedback_stop_timer
    after update of state on huifang.directive_feedback
    for each row when (new.state = 'sent' and old.state = 'pending')
    execute function huifang.directive_feedback_stop_timer();

-- Row-level security -------------------------------------------------------------------------------

alter table huifang.records enable row level security;
alter table huifang.records force row level security;
alter table huifang.record_signatures enable row level security;
alter table huifang.record_signatures force row level security;
alter table huifang.record_findings enable row level security;
alter table huifang.record_findings force row level security;
alter table huifang.problems enable row level security;
alter table huifang.problems force row level security;
alter table huifang.client_profiles enable row level security;
alter table huifang.client_profiles force row level security;
alter table huifang.record_uploads enable row level security;
alter table huifang.record_uploads force row level security;
alter table huifang.record_upload_deliveries enable row level security;
alter table huifang.record_upload_deliveries force row level security;
alter table huifang.directive_feedback enable row level security;
alter table huifang.directive_feedback force row level security;

create policy owner_all on huifang.records to current_user using (true) with check (true);
create policy owner_all on huifang.record_signatures to current_user using (true) with check (true);
create policy owner_all on huifang.record_findings to current_user using (true) with check (true);
create policy owner_all on huifang.problems to current_user using (true) with check (true);
create policy owner_all on huifang.client_profiles to current_user using (true) with check (true);
create policy owner_all on huifang.record_uploads to current_user using (true) with check (true);
create policy owner_all on huifang.record_upload_deliveries to current_user using (true) with check (true);
create policy owner_all on huifang.directive_feedback to current_user using (true) with check (true);

-- Records: a branch's own; every branch for HQ readers; an HQ department's own callbacks (S&T HQ
-- owns them, the call center performs them). The triggers above decide who may take each step.
create policy read_scoped on huifang.records for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[]));
create policy write_scoped on huifang.records for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
                or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
                or hq_department_id = any ((select huifang.scope_department_ids())::integer[]));
create policy update_scoped on huifang.records for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[]));

-- Signatures, findings and profiles follow their record.
create policy follows_record on huifang.record_signatures for select to huifang_app
    using (exists (select from huifang.records r where r.branch_id = record_signatures.branch_id and r.id = record_signatures.record_id));
create policy follows_record on huifang.record_findings for select to huifang_app
    using (exists (select from huifang.records r where r.branch_id = record_findings.branch_id and r.id = record_findings.record_id));
create policy read_scoped on huifang.client_profiles for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

create policy read_scoped on huifang.problems for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
create policy raise_scoped on huifang.problems for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

-- Uploads: the branch's own; HQ departments read every branch's, and see and acknowledge what
-- is addressed to them.
create policy read_scoped on huifang.record_uploads for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or exists (select from huifang.record_upload_deliveries d where d.branch_id = record_uploads.branch_id
                      and d.upload_id = record_uploads.id and d.department_id = any ((select huifang.scope_department_ids())::integer[])));
create policy submit_own on huifang.record_uploads for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));
create policy read_scoped on huifang.record_upload_deliveries for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));
create policy acknowledge_own on huifang.record_upload_deliveries for update to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));

create policy read_scoped on huifang.directive_feedback for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));
create policy step_scoped on huifang.directive_feedback for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]));

-- A department reads the records delivered to it (an upload or a feedback package).
create policy read_delivered on huifang.records for select to huifang_app
    using (exists (select from huifang.record_upload_deliveries d
                   where d.branch_id = records.branch_id and d.upload_id = records.upload_id and records.id = any (d.record_ids)
                     and d.department_id = any ((select huifang.scope_department_ids())::integer[]))
           or exists (select from huifang.directive_feedback f
                      where f.branch_id = records.branch_id and records.id = any (f.record_ids)
                        and f.department_id = any ((select huifang.scope_department_ids())::integer[])));

-- The receiving departments see the deadlines of what is addressed to them.
create policy read_delivered on huifang.timers for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0 and (
           (subject_kind = 'record_upload' and exists (
                select from huifang.record_upload_deliveries d where d.branch_id = timers.branch_id and d.upload_id = timers.subject_id
                  and d.department_id = any ((select huifang.scope_department_ids())::integer[])))
        or (subject_kind = 'directive_feedback' and exists (
                select from huifang.directive_feedback f where f.branch_id = timers.branch_id and f.id = timers.subject_id
                  and f.department_id = any ((select huifang.scope_department_ids())::integer[])))));

grant select on huifang.records, huifang.record_signatures, huifang.record_findings, huifang.record_transitions,
    huifang.problems, huifang.client_profiles, huifang.record_uploads, huifang.record_upload_deliveries,
    huifang.directive_feedback to huifang_app;
grant insert (branch_id, form_code, form_version, amends_id, amendment_reason, task_id, client_id, answers,
              profile_form_code, profile_form_version, profile_answers)
    on huifang.records to huifang_app;
grant update (form_version, answers, profile_form_code, profile_form_version, profile_answers, state, return_reason)
    on huifang.records to huifang_app;
grant insert (branch_id, client_id, finding_id, category, severity, description) on huifang.problems to huifang_app;
grant update (state) on huifang.record_uploads to huifang_app;
grant update (acknowledged_at) on huifang.record_upload_deliveries to huifang_app;
grant update (state) on huifang.directive_feedback to huifang_app;
-- Definer functions are for the triggers and the scheduler only; PUBLIC may execute functions by default.
revoke execute on function huifang.holds_record_role(bigint, text, huifang.records), huifang.check_record_recusal(huifang.records, bigint),
    huifang.open_directive_feedback(integer, bigint, timestamptz, text), huifang.open_record_uploads(text),
    huifang.end_due_directives() from public;
grant execute on function huifang.record_content_hash(huifang.records), huifang.open_record_uploads(text),
    huifang.end_due_directives(), huifang.month_upload_started_at(text), huifang.in_record_scope(integer, integer[]) to huifang_app;
