-- Callback records (Art 5, 12, 13): versioned forms, answers, signatures of the performer and a
-- leader, recusal, findings, and who may read a record.
-- Tables: record_forms, records, record_signatures, record_findings, record_transitions,
-- client_profiles (0013, 0014), record_keys (0072).

-- ══ functions and the triggers that call them ══

create or replace function huifang.record_forms_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op <> 'INSERT' then
        raise exception 'record form versions are never changed; publish a new version' using errcode = '55000';
    end if;
    if new.version is distinct from (select coalesce(max(version), 0) + 1 from huifang.record_forms where code = new.code) then
        raise exception 'the next version of form % is %', new.code,
            (select coalesce(max(version), 0) + 1 from huifang.record_forms where code = new.code)
            using errcode = '23514', constraint = 'record_forms_next_version';
    end if;
    return new;
end
$$;

create or replace trigger record_forms_append_only
    before insert or update or delete on huifang.record_forms
    for each row execute function huifang.record_forms_append_only();

create or replace trigger record_forms_no_truncate
    before truncate on huifang.record_forms
    for each statement execute function huifang.record_forms_append_only();

-- The content a signature covers, canonical by jsonb's own key order and text form; times in UTC.
create or replace function huifang.record_content_hash(r huifang.records) returns bytea
    language plpgsql immutable
    as $$
    begin
        return sha256(convert_to(jsonb_build_object(
            'branchId', r.branch_id, 'recordId', r.id, 'revision', r.revision, 'amendsId', r.amends_id,
            'amendmentReason', r.amendment_reason, 'form', r.form_code, 'formVersion', r.form_version,
            'taskId', r.task_id, 'clientId', r.client_id, 'brokerId', r.broker_id, 'directiveId', r.directive_id,
            'performer', r.performer_staff_id, 'answers', r.answers, 'profileForm', r.profile_form_code,
            'profileFormVersion', r.profile_form_version, 'profile', r.profile_answers)::text, 'UTF8'));
    end
    $$;
comment on function huifang.record_content_hash(huifang.records) is
    'SHA-256 of the canonical JSON of what a record says (jsonb key order, UTF-8); signatures store it';
grant execute on function huifang.record_content_hash(huifang.records) to huifang_app;

-- Does the staff member hold `role` where the record is (its branch, or its HQ department)?
-- Is the row's branch (or, for HQ's own callbacks, its department) in the request's scope? The
-- definer triggers below ask first, so a request never learns about another branch's rows.
create or replace function huifang.in_record_scope(p_branch integer, p_departments integer[]) returns boolean
    language sql stable
    as $$
        select session_user::text <> 'huifang_app' or huifang.scope_system()
            or p_branch = any (huifang.scope_branch_ids()) or p_departments && huifang.scope_department_ids()
    $$;
grant execute on function huifang.in_record_scope(integer,integer[]) to huifang_app;

create or replace function huifang.holds_record_role(p_staff bigint, p_role text, r huifang.records) returns boolean
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        return exists (
            select from huifang.role_grants g
            where g.staff_id = p_staff and g.role = p_role and g.revoked_at is null
              and (case when p_role = 'sales_trading_hq' then g.department_id = r.hq_department_id else g.branch_id = r.branch_id end));
    end
    $$;
revoke execute on function huifang.holds_record_role(bigint,text,huifang.records) from public;

-- Who may perform a callback of this client or broker: not anyone who ever introduced them (Art 4).
create or replace function huifang.check_record_recusal(r huifang.records, performer bigint) returns void
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    broker_staff bigint;
begin
    if r.client_id is null then
        select b.staff_id into broker_staff from huifang.brokers b where b.branch_id = r.branch_id and b.id = r.broker_id;
    end if;
    -- Anyone who ever referred the client, not only the referrer on record now.
    if (r.client_id is not null and huifang.ever_referred(r.branch_id, r.client_id, performer)) or performer = broker_staff then
        raise exception 'recusal (Art 4): staff % introduced this client and may not perform or record their callback', performer
            using errcode = '23514', constraint = 'records_recusal';
    end if;
end
$$;
revoke execute on function huifang.check_record_recusal(huifang.records,bigint) from public;

create or replace function huifang.records_before_insert() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    task huifang.callback_tasks;
    previous huifang.records;
begin
    new.performer_staff_id := huifang.scope_staff_id();
    new.state := 'draft';
    -- The app cannot name created_at (column grants); the owner's bulk loads date their history.
    -- Either way the row is routed to its year before this trigger, which must not move it.
    if session_user::text = 'huifang_app' then
        new.created_at := now();
    end if;
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
        perform from huifang.records where branch_id = new.branch_id and id = new.amends_id and created_at = previous.created_at
            for update;
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
        new.amends_created_at := previous.created_at;
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

create or replace trigger records_before_insert
    before insert on huifang.records
    for each row execute function huifang.records_before_insert();

-- Each step: allowed from the state, by the person it names; the trigger signs it.
create or replace function huifang.records_before_update() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor bigint := huifang.scope_staff_id();
    step_name text;
begin
    if (new.branch_id, new.id, new.form_code, new.revision, new.amends_id, new.amendment_reason, new.task_id, new.client_id,
        new.broker_id, new.directive_id, new.performer_staff_id, new.leader_role, new.archiver_role, new.hq_department_id,
        new.executor_department_id, new.created_at, new.amends_created_at)
       is distinct from (old.branch_id, old.id, old.form_code, old.revision, old.amends_id, old.amendment_reason, old.task_id,
                         old.client_id, old.broker_id, old.directive_id, old.performer_staff_id, old.leader_role,
                         old.archiver_role, old.hq_department_id, old.executor_department_id, old.created_at,
                         old.amends_created_at) then
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
        -- One signed record per task, one signed amendment per revision: unique indexes before the
        -- records were partitioned by year (0060), which PostgreSQL cannot enforce across partitions.
        -- The task's (or the amended record's) lock makes two submits take turns; the second reads
        -- the first's committed record (each statement here sees what committed before it) and fails
        -- as the index did. Only a draft's first submit adds a signed record; a resubmit adds none.
        if old.state = 'draft' and new.amends_id is null and new.task_id is not null then
            perform from huifang.callback_tasks t where t.branch_id = new.branch_id and t.id = new.task_id for no key update;
            if exists (select from huifang.records r where r.branch_id = new.branch_id and r.task_id = new.task_id
                       and r.amends_id is null and r.state <> 'draft' and r.id <> new.id) then
                raise exception 'duplicate key value violates unique constraint "records_once_per_task"'
                    using errcode = '23505', constraint = 'records_once_per_task',
                          detail = format('Key (branch_id, task_id)=(%s, %s) already exists.', new.branch_id, new.task_id);
            end if;
        elsif old.state = 'draft' and new.amends_id is not null then
            perform from huifang.records r where r.branch_id = new.branch_id and r.id = new.amends_id
                                              and r.created_at = new.amends_created_at for no key update;
            if exists (select from huifang.records r where r.branch_id = new.branch_id and r.amends_id = new.amends_id
                       and r.state <> 'draft' and r.id <> new.id) then
                raise exception 'duplicate key value violates unique constraint "records_one_amendment"'
                    using errcode = '23505', constraint = 'records_one_amendment',
                          detail = format('Key (branch_id, amends_id)=(%s, %s) already exists.', new.branch_id, new.amends_id);
            end if;
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

create or replace trigger records_before_update
    before update on huifang.records
    for each row execute function huifang.records_before_update();

create or replace function huifang.records_no_delete() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'records are never deleted' using errcode = '55000', constraint = 'records_immutable';
end
$$;

create or replace trigger records_no_delete before delete on huifang.records for each row execute function huifang.records_no_delete();

create or replace trigger records_no_truncate before truncate on huifang.records for each statement execute function huifang.records_no_delete();

create or replace trigger record_signatures_no_change before update or delete on huifang.record_signatures
    for each row execute function huifang.records_no_delete();

create or replace trigger record_signatures_no_truncate before truncate on huifang.record_signatures
    for each statement execute function huifang.records_no_delete();

-- What points at a record carries the record's created_at (its partition column, 0060), so the
-- foreign key names the record's whole key. Filled here from the record, so no writer names it; a
-- value given is kept, and the foreign key checks it. Named to fire after the table's other BEFORE
-- triggers (they fire in name order), which may set record_id (problems_before_insert does). A
-- record that is not there is refused as its foreign key did (same SQLSTATE and name) — including
-- one inserted by the same statement (a data-modifying WITH): such a writer names created_at.
create or replace function huifang.fill_record_created_at() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.record_id is null then
        new.record_created_at := null;
    elsif new.record_created_at is null
          or (tg_op = 'UPDATE' and new.record_id is distinct from old.record_id
              and new.record_created_at is not distinct from old.record_created_at) then
        new.record_created_at := huifang.record_created_at(array[new.branch_id], new.record_id);
        if new.record_created_at is null then
            raise exception 'insert or update on table "%" violates foreign key constraint "%"',
                tg_table_name, tg_table_name || '_branch_id_record_id_fkey'
                using errcode = '23503', constraint = tg_table_name || '_branch_id_record_id_fkey',
                      detail = format('Key (branch_id, record_id)=(%s, %s) is not present in table "records".', new.branch_id, new.record_id);
        end if;
    end if;
    return new;
end
$$;
revoke execute on function huifang.fill_record_created_at() from public;

create or replace trigger callback_tasks_record_created_at
    before insert or update of record_id, record_created_at on huifang.callback_tasks
    for each row execute function huifang.fill_record_created_at();
create or replace trigger record_signatures_record_created_at
    before insert on huifang.record_signatures
    for each row execute function huifang.fill_record_created_at();
create or replace trigger record_findings_record_created_at
    before insert or update of record_id, record_created_at on huifang.record_findings
    for each row execute function huifang.fill_record_created_at();
create or replace trigger problems_record_created_at
    before insert or update of record_id, record_created_at on huifang.problems
    for each row execute function huifang.fill_record_created_at();
create or replace trigger client_profiles_record_created_at
    before insert or update of record_id, record_created_at on huifang.client_profiles
    for each row execute function huifang.fill_record_created_at();

-- A record's created_at, its year's partition (0060), from record_keys (0072): in a statement that
-- compares created_at with it, the plan starts on one year instead of every year. `p_branches`
-- as the caller's scope names them, null for every branch (a record named by id alone). Under the
-- caller's policies; a record without a key (written with the user triggers off, or restored from
-- an archive) is looked for in every year, as before the keys.
create or replace function huifang.record_created_at(p_branches integer[], p_id bigint) returns timestamptz
    language plpgsql stable
    as $$
declare
    found_at timestamptz;
begin
    select k.created_at into found_at from huifang.record_keys k
    where k.id = p_id and (p_branches is null or k.branch_id = any(p_branches));
    -- Each branch's key probed, as SQL.branch does for every branch: `= any` of all 350 branches'
    -- ids read every year's key range for each (190 ms against 14 ms, an id with no record).
    if found_at is null and p_branches is null then
        select r.created_at into found_at from huifang.records r
        where r.branch_id in (select b.id from huifang.branches b) and r.id = p_id;
    elsif found_at is null then
        select r.created_at into found_at from huifang.records r where r.branch_id = any(p_branches) and r.id = p_id;
    end if;
    return found_at;
end
$$;
grant execute on function huifang.record_created_at(integer[], bigint) to huifang_app;

create or replace function huifang.records_keep_keys() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.record_keys (branch_id, id, created_at, hq_department_id, executor_department_id)
    select branch_id, id, created_at, hq_department_id, executor_department_id from added;
    return null;
end
$$;
revoke execute on function huifang.records_keep_keys() from public;

-- Records written after 0072 filled the keys and before this trigger existed (servers of the
-- previous build go on writing during an upgrade) get theirs when the trigger is first created:
-- once per database, not at each later change of this file. Row-level security steps aside for
-- that insert (its policies come later in this file), as for 0072's fill.
do $$
begin
    if not exists (select from pg_trigger where tgrelid = 'huifang.records'::regclass and tgname = 'records_keep_keys') then
        alter table huifang.record_keys no force row level security;
        insert into huifang.record_keys (branch_id, id, created_at, hq_department_id, executor_department_id)
        select r.branch_id, r.id, r.created_at, r.hq_department_id, r.executor_department_id from huifang.records r
        where not exists (select from huifang.record_keys k where k.branch_id = r.branch_id and k.id = r.id)
        on conflict do nothing;
        alter table huifang.record_keys force row level security;
    end if;
end
$$;

create or replace trigger records_keep_keys
    after insert on huifang.records referencing new table as added
    for each statement execute function huifang.records_keep_keys();

-- After a step: the signature, the task it completes, the profile it files.
create or replace function huifang.records_after_step() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    step_name text;
    signer_role text;
    signature huifang.record_signatures;
begin
    select t.step into step_name from huifang.record_transitions t where t.from_state = old.state and t.to_state = new.state;
    if step_name is not null then
        signer_role := case step_name when 'submit' then 'performer' when 'archive' then new.archiver_role else new.leader_role end;
        insert into huifang.record_signatures (branch_id, record_id, record_created_at, step, signer_staff_id, signer_role, content_sha256)
        values (new.branch_id, new.id, new.created_at, step_name, huifang.scope_staff_id(), signer_role, huifang.record_content_hash(new))
        returning * into signature;
    end if;
    if step_name = 'submit' and new.task_id is not null and new.amends_id is null then
        update huifang.callback_tasks set state = 'in_progress', started_at = now()
        where branch_id = new.branch_id and id = new.task_id and state = 'assigned';
        update huifang.callback_tasks
        set state = 'completed', closed_at = now(), closed_by = new.performer_staff_id, record_id = new.id,
            record_created_at = new.created_at
        where branch_id = new.branch_id and id = new.task_id and state = 'in_progress';
    end if;
    -- Art 5, 12: the leader answers a submission within the working days of clock_rules.
    if step_name = 'submit' then
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        select new.branch_id, c.subject_kind, signature.id, c.clock, signature.signed_at, c.workdays,
               'Record ' || new.id || ': countersign or return it',
               jsonb_build_array(case when new.leader_role = 'sales_trading_hq'
                                      then jsonb_build_object('role', 'sales_trading_hq', 'departmentId', new.hq_department_id)
                                      else jsonb_build_object('role', new.leader_role, 'branchId', new.branch_id) end),
               jsonb_build_array(case when new.leader_role = 'sales_trading_hq'
                                      then jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                               (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))
                                      else jsonb_build_object('role', 'branch_manager', 'branchId', new.branch_id) end)
        from huifang.clock_rules c
        where c.clock = 'record_countersignature';
    elsif step_name in ('countersign', 'return') then
        perform huifang.stop_clock(new.branch_id, 'record_submission', s.id, step_name, 'record_countersignature')
        from huifang.record_signatures s
        where s.branch_id = new.branch_id and s.record_id = new.id and s.step = 'submit';
    end if;
    -- Art 5, 17: each finding not yet handled is raised or dismissed within the working days of clock_rules.
    if step_name = 'countersign' then
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        select new.branch_id, c.subject_kind, f.id, c.clock, now(), c.workdays,
               'Record ' || new.id || ': raise or dismiss the finding "' || left(f.text, 60) || '"',
               jsonb_build_array(jsonb_build_object('role', 'responsible_person', 'branchId', new.branch_id),
                                 jsonb_build_object('role', case when new.leader_role = 'sales_trading_hq' then 'ops_director'
                                                                 else new.leader_role end, 'branchId', new.branch_id)),
               jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', new.branch_id))
        from huifang.record_findings f
        cross join huifang.clock_rules c
        where f.branch_id = new.branch_id and f.record_id = new.id and f.raised_at is null and f.dismissed_at is null
          and c.clock = 'finding_handling';
    end if;
    if step_name = 'countersign' and new.profile_form_code is not null then
        insert into huifang.client_profiles (branch_id, client_id, form_code, form_version, answers, record_id, record_created_at,
                                             recorded_by)
        values (new.branch_id, new.client_id, new.profile_form_code, new.profile_form_version, new.profile_answers, new.id,
                new.created_at, new.performer_staff_id);
    end if;
    return null;
end
$$;

create or replace trigger records_after_step
    after update of state on huifang.records
    for each row when (new.state is distinct from old.state)
    execute function huifang.records_after_step();

create or replace function huifang.records_write_findings() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    -- On resubmission (after a return) the findings follow the answers again; those raised already
    -- stay (they have their problems), and new ones come after them.
    delete from huifang.record_findings f
    where f.branch_id = new.branch_id and f.record_id = new.id and f.raised_at is null;
    insert into huifang.record_findings (branch_id, record_id, record_created_at, position, kind, text)
    select new.branch_id, new.id, new.created_at,
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

create or replace trigger records_write_findings
    after update of state on huifang.records
    for each row when (new.state = 'submitted' and old.state is distinct from 'submitted')
    execute function huifang.records_write_findings();

create or replace function huifang.department_received_record(p_branch integer, p_upload bigint, p_record bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.record_upload_deliveries d
                       where d.branch_id = p_branch and d.upload_id = p_upload and p_record = any (d.record_ids)
                         and d.department_id = any (huifang.scope_department_ids()))
            or exists (select from huifang.directive_feedback f
                       where f.branch_id = p_branch and p_record = any (f.record_ids)
                         and f.department_id = any (huifang.scope_department_ids()))
    $$
cost 1000;
revoke execute on function huifang.department_received_record(integer,bigint,bigint) from public;
grant execute on function huifang.department_received_record(integer,bigint,bigint) to huifang_app;

-- Whether the caller may read the record (its own policies decide: security invoker). PL/pgSQL,
-- so its plan is kept and starts on the record's year alone: a policy's correlated subquery over
-- records set up a scan of every year in each statement that read the table, found rows or not.
create or replace function huifang.record_is_readable(p_branch integer, p_record bigint, p_record_created_at timestamptz)
    returns boolean
    language plpgsql stable
    as $$
    begin
        return exists (select from huifang.records r
                       where r.branch_id = p_branch and r.id = p_record and r.created_at = p_record_created_at);
    end
    $$;
grant execute on function huifang.record_is_readable(integer, bigint, timestamptz) to huifang_app;

-- The record's created_at names its year's partition: without it the lookup probes every year.
create or replace function huifang.department_sees_record(p_branch integer, p_record bigint, p_record_created_at timestamptz)
    returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.records r
                       where r.branch_id = p_branch and r.id = p_record and r.created_at = p_record_created_at
                         and (r.hq_department_id = any (huifang.scope_department_ids())
                              or r.executor_department_id = any (huifang.scope_department_ids())
                              or huifang.department_received_record(r.branch_id, r.upload_id, r.id)))
    $$
cost 1000;
revoke execute on function huifang.department_sees_record(integer,bigint,timestamptz) from public;
grant execute on function huifang.department_sees_record(integer,bigint,timestamptz) to huifang_app;

-- Art 5, 17: the performer who does not raise a finding as a problem says why; its clock stops.
-- The workflow's own function: the request role has no direct write on findings.
create or replace function huifang.dismiss_finding(p_branch integer, p_finding bigint, p_reason text)
    returns huifang.record_findings
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    finding huifang.record_findings;
    record huifang.records;
begin
    if not (p_branch = any (huifang.scope_branch_ids())) then
        raise exception 'finding % is not in the branches of this request', p_finding using errcode = '42501', constraint = 'findings_scope';
    end if;
    select * into finding from huifang.record_findings where branch_id = p_branch and id = p_finding for update;
    if finding.id is null then
        raise exception 'no finding % in branch %', p_finding, p_branch using errcode = 'P0002';
    end if;
    select * into record from huifang.records where branch_id = p_branch and id = finding.record_id;
    if record.performer_staff_id is distinct from huifang.scope_staff_id() then
        raise exception 'the performer of the record handles its findings' using errcode = '42501', constraint = 'findings_performer';
    end if;
    if record.state not in ('submitted', 'countersigned', 'archived') then
        raise exception 'a finding is handled once its record is signed' using errcode = '23514', constraint = 'findings_signed';
    end if;
    if finding.raised_at is not null or finding.dismissed_at is not null then
        raise exception 'finding % was handled already', p_finding using errcode = '23505', constraint = 'findings_handled_once';
    end if;
    update huifang.record_findings
    set dismissed_at = now(), dismissed_by = huifang.scope_staff_id(), dismissal_reason = btrim(p_reason)
    where branch_id = p_branch and id = p_finding
    returning * into finding;
    perform huifang.stop_clock(p_branch, 'record_finding', p_finding, 'dismissed', 'finding_handling');
    return finding;
end
$$;
revoke execute on function huifang.dismiss_finding(integer,bigint,text) from public;
grant execute on function huifang.dismiss_finding(integer,bigint,text) to huifang_app;

-- ══ row-level security: huifang.records ══

drop policy if exists owner_all on huifang.records;
create policy owner_all on huifang.records to current_user using (true) with check (true);

-- Records: a branch's own; every branch for HQ readers; an HQ department's own callbacks (S&T HQ
-- owns them, the call center performs them). The triggers above decide who may take each step.
drop policy if exists read_scoped on huifang.records;
create policy read_scoped on huifang.records for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists write_scoped on huifang.records;
create policy write_scoped on huifang.records for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
                or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
                or hq_department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists update_scoped on huifang.records;
create policy update_scoped on huifang.records for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists read_delivered on huifang.records;
create policy read_delivered on huifang.records for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0
           and huifang.department_received_record(branch_id, upload_id, id));

-- ══ row-level security: huifang.record_signatures ══

drop policy if exists owner_all on huifang.record_signatures;
create policy owner_all on huifang.record_signatures to current_user using (true) with check (true);

drop policy if exists follows_record on huifang.record_signatures;
create policy follows_record on huifang.record_signatures for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or (cardinality((select huifang.scope_department_ids())) > 0
               and huifang.department_sees_record(branch_id, record_id, record_created_at)));
drop function if exists huifang.department_sees_record(integer, bigint);

-- ══ row-level security: huifang.record_findings ══

drop policy if exists owner_all on huifang.record_findings;
create policy owner_all on huifang.record_findings to current_user using (true) with check (true);

drop policy if exists follows_record on huifang.record_findings;
create policy follows_record on huifang.record_findings for select to huifang_app
    using (huifang.record_is_readable(branch_id, record_id, record_created_at));

-- ══ row-level security: huifang.record_keys ══

drop policy if exists owner_all on huifang.record_keys;
create policy owner_all on huifang.record_keys to current_user using (true) with check (true);

-- As records' own read policy: a branch's own, every branch for HQ readers, and an HQ department's
-- own records. A record delivered to a department in a monthly upload has no key it can read: the
-- department finds it by the look-up in every year. Written only by records_keep_keys.
drop policy if exists read_scoped on huifang.record_keys;
create policy read_scoped on huifang.record_keys for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or hq_department_id = any ((select huifang.scope_department_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ row-level security: huifang.client_profiles ══

drop policy if exists owner_all on huifang.client_profiles;
create policy owner_all on huifang.client_profiles to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.client_profiles;
create policy read_scoped on huifang.client_profiles for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
