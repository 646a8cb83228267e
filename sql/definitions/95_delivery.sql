-- Delivery of notifications to external channels (issue 21): the fan-out of each new notification to
-- the channels of its address, the claim of due deliveries by the workers, the channel secret only the
-- engine reads, the host exceptions, the daily digest.
-- Tables: delivery_channels, delivery_allowed_hosts, delivery_digest_days, delivery_digests,
-- deliveries, delivery_attempts (0046).

-- ══ functions and the triggers that call them ══

-- An instant as JSON text a Swift decoder reads (whole seconds, UTC).
create or replace function huifang.json_instant(t timestamptz) returns text
    language sql stable parallel safe
    as $$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- What a notification is, in the words channels subscribe to.
create or replace function huifang.notification_delivery_kind(p_kind text, p_stage text) returns text
    language sql immutable parallel safe
    as $$
        select case
            when p_kind = 'handoff' then 'handoff'
            when p_stage like 'warning%' then 'warning'
            when p_stage = 'breached' then 'breach'
            when p_stage = 'escalated' then 'escalation'
        end
    $$;

-- Every new notification gets one delivery per enabled channel of its address that subscribes to its
-- kind, in the transaction that wrote it (so none is lost between the outbox and the fan-out), and
-- wakes the delivery workers.
create or replace function huifang.notifications_fan_out() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.deliveries (channel_id, notification_branch_id, notification_id, kind)
    select c.id, n.branch_id, n.id, k.kind
    from added n
    cross join lateral (select huifang.notification_delivery_kind(n.kind, n.stage) as kind) k
    join huifang.delivery_channels c
      on c.removed_at is null and c.enabled and k.kind = any (c.notification_kinds)
     and ((c.branch_id = n.recipient_branch_id and c.role = n.recipient_role) or c.department_id = n.recipient_department_id)
    on conflict do nothing;
    if found then
        perform pg_notify('huifang_deliveries', '');
    end if;
    return null;
end
$$;
revoke execute on function huifang.notifications_fan_out() from public;

create or replace trigger notifications_fan_out
    after insert on huifang.notifications referencing new table as added
    for each statement execute function huifang.notifications_fan_out();

-- The exceptions an admin made for a host: http allowed, private addresses allowed. Readable by whoever
-- saves a channel (the check runs in their transaction) without showing them the whole list.
create or replace function huifang.delivery_host_allowance(p_host text, out allow_http boolean, out allow_private boolean)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select coalesce(bool_or(h.allow_http), false), coalesce(bool_or(h.allow_private), false)
        from huifang.delivery_allowed_hosts h where h.host = lower(p_host)
    $$;
revoke execute on function huifang.delivery_host_allowance(text) from public;
grant execute on function huifang.delivery_host_allowance(text) to huifang_app;

-- The delivery workers' claim: up to p_limit due deliveries (FOR UPDATE SKIP LOCKED), each leased for
-- p_lease (another worker takes it again only after that, so a worker that dies mid-call loses
-- nothing), with what the message needs: the channel (secret included: only here), the notification
-- or digest as facts. The attempt number identifies this claim.
create or replace function huifang.claim_deliveries(p_limit integer, p_lease interval)
    returns table (id bigint, attempt integer, pending_since timestamptz, kind text, channel_id bigint, channel_kind text,
                   url text, secret text, addresses text[], facts jsonb)
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not huifang.scope_system() then
        raise exception 'only the delivery engine claims deliveries' using errcode = '42501';
    end if;
    return query
        with due as (
            select d.id from huifang.deliveries d
            where d.state = 'pending' and d.next_attempt_at <= now()
            order by d.next_attempt_at
            limit p_limit
            for update skip locked
        ), claimed as (
            update huifang.deliveries d set attempts = d.attempts + 1, next_attempt_at = now() + p_lease
            from due where d.id = due.id
            returning d.*
        )
        select c.id, c.attempts, c.pending_since, c.kind, ch.id, ch.kind, ch.url, ch.secret, ch.addresses,
               case when c.notification_id is not null then
                   jsonb_build_object(
                       'notificationId', n.id, 'branchId', n.branch_id, 'branchCode', b.code, 'createdAt', huifang.json_instant(n.created_at),
                       'kind', n.kind, 'stage', n.stage, 'subjectKind', n.subject_kind, 'subjectId', n.subject_id,
                       'scheduledAt', huifang.json_instant(n.scheduled_at), 'recipientRole', n.recipient_role,
                       'recipientBranchId', n.recipient_branch_id, 'recipientDepartmentId', n.recipient_department_id)
               else
                   jsonb_build_object(
                       'digestId', g.id, 'day', g.day, 'recipientRole', g.recipient_role,
                       'recipientBranchId', g.recipient_branch_id, 'recipientDepartmentId', g.recipient_department_id,
                       'dueToday', g.due_today, 'overdue', g.overdue, 'items', g.items)
               end
        from claimed c
        join huifang.delivery_channels ch on ch.id = c.channel_id
        left join huifang.notifications n on n.branch_id = c.notification_branch_id and n.id = c.notification_id
        left join huifang.branches b on b.id = n.branch_id
        left join huifang.delivery_digests g on g.id = c.digest_id;
end
$$;
revoke execute on function huifang.claim_deliveries(integer, interval) from public;
grant execute on function huifang.claim_deliveries(integer, interval) to huifang_app;

-- The 08:30 digest of a working day (cn_workday, Asia/Shanghai), composed once: the day's row is the
-- claim, so a second worker (or server) finds it taken and does nothing. For each department and branch
-- leader with a channel subscribed to it: the open clocks due by the end of the day, split into due
-- today and overdue, with the first 50 items; and their deliveries. Returns the digests written, or
-- null when it is not time yet, not a working day, or done already.
create or replace function huifang.compose_daily_digests(p_now timestamptz) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    v_day date := (p_now at time zone 'Asia/Shanghai')::date;
    v_start timestamptz := v_day::timestamp at time zone 'Asia/Shanghai';
    v_end timestamptz := (v_day + 1)::timestamp at time zone 'Asia/Shanghai';
    v_written integer;
begin
    if not huifang.scope_system() then
        raise exception 'only the delivery engine composes digests' using errcode = '42501';
    end if;
    if (p_now at time zone 'Asia/Shanghai')::time < time '08:30' or not huifang.is_workday('cn_workday', v_day) then
        return null;
    end if;
    insert into huifang.delivery_digest_days (day) values (v_day) on conflict do nothing;
    if not found then
        return null;
    end if;
    with recipients as (
        select distinct c.branch_id, c.role, c.department_id
        from huifang.delivery_channels c
        where c.removed_at is null and c.enabled and 'digest' = any (c.notification_kinds)
    ), open_clocks as (
        select r.branch_id as r_branch, r.role as r_role, r.department_id as r_department,
               t.branch_id, b.code, t.subject_kind, t.subject_id, t.clock, t.due_at, t.due_at < v_start as overdue
        from recipients r
        join huifang.timers t
          on t.stopped_at is null and t.due_at < v_end
         and (t.branch_id = r.branch_id
              or t.department_id = r.department_id
              or t.notify @> jsonb_build_array(jsonb_build_object('departmentId', r.department_id)))
        join huifang.branches b on b.id = t.branch_id
    ), written as (
        insert into huifang.delivery_digests (day, recipient_role, recipient_branch_id, recipient_department_id, due_today, overdue, items)
        select v_day, r.role, r.branch_id, r.department_id,
               (select count(*) from open_clocks o
                where o.r_branch is not distinct from r.branch_id and o.r_department is not distinct from r.department_id
                  and o.r_role is not distinct from r.role and not o.overdue),
               (select count(*) from open_clocks o
                where o.r_branch is not distinct from r.branch_id and o.r_department is not distinct from r.department_id
                  and o.r_role is not distinct from r.role and o.overdue),
               coalesce((select jsonb_agg(jsonb_build_object(
                                'subjectKind', x.subject_kind, 'subjectId', x.subject_id, 'branchId', x.branch_id,
                                'branchCode', x.code, 'clock', x.clock, 'dueAt', huifang.json_instant(x.due_at), 'overdue', x.overdue) order by x.due_at)
                         from (select * from open_clocks o
                               where o.r_branch is not distinct from r.branch_id and o.r_department is not distinct from r.department_id
                                 and o.r_role is not distinct from r.role
                               order by o.due_at limit 50) x), '[]')
        from recipients r
        returning id, recipient_role, recipient_branch_id, recipient_department_id
    ), fanned as (
        -- Runs although nothing reads it, as every data-modifying WITH does.
        insert into huifang.deliveries (channel_id, digest_id, kind)
        select c.id, w.id, 'digest'
        from written w
        join huifang.delivery_channels c
          on c.removed_at is null and c.enabled and 'digest' = any (c.notification_kinds)
         and ((c.branch_id = w.recipient_branch_id and c.role = w.recipient_role) or c.department_id = w.recipient_department_id)
        returning 1
    )
    select count(*) into v_written from written;
    if v_written > 0 then
        perform pg_notify('huifang_deliveries', '');
    end if;
    return v_written;
end
$$;
comment on function huifang.compose_daily_digests(timestamptz) is
    'The delivery engine (scope system): composes the day''s 08:30 digests once; null when not due or done';
revoke execute on function huifang.compose_daily_digests(timestamptz) from public;
grant execute on function huifang.compose_daily_digests(timestamptz) to huifang_app;

-- Attempts are history.
create or replace trigger delivery_attempts_append_only
    before update or delete on huifang.delivery_attempts
    for each row
    execute function huifang.refuse_rewrite('delivery attempts are history', 'delivery_attempts_append_only');

-- ══ row-level security: huifang.delivery_channels ══

drop policy if exists owner_all on huifang.delivery_channels;
create policy owner_all on huifang.delivery_channels to current_user using (true) with check (true);

-- A channel is reached by an admin (the organization), by the branch of a branch-role channel or the
-- department of a department channel when the action's grants name them, and by readers of every branch.
drop policy if exists read_scoped on huifang.delivery_channels;
create policy read_scoped on huifang.delivery_channels for select to huifang_app
    using ((select huifang.scope_org_admin()) or (select huifang.scope_all_branches()) or (select huifang.scope_system())
           or delivery_channels.branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or delivery_channels.department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists insert_scoped on huifang.delivery_channels;
create policy insert_scoped on huifang.delivery_channels for insert to huifang_app
    with check (((select huifang.scope_org_admin())
                 or delivery_channels.branch_id = any ((select huifang.scope_branch_ids())::integer[])
                 or delivery_channels.department_id = any ((select huifang.scope_department_ids())::integer[]))
                and delivery_channels.created_by = (select huifang.scope_staff_id()));

drop policy if exists update_scoped on huifang.delivery_channels;
create policy update_scoped on huifang.delivery_channels for update to huifang_app
    using ((select huifang.scope_org_admin())
           or delivery_channels.branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or delivery_channels.department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check ((select huifang.scope_org_admin())
           or delivery_channels.branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or delivery_channels.department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ row-level security: huifang.delivery_allowed_hosts ══

drop policy if exists owner_all on huifang.delivery_allowed_hosts;
create policy owner_all on huifang.delivery_allowed_hosts to current_user using (true) with check (true);

-- Admins only; everyone else learns a host's exceptions through huifang.delivery_host_allowance.
drop policy if exists admin_all on huifang.delivery_allowed_hosts;
drop policy if exists admin_read on huifang.delivery_allowed_hosts;
create policy admin_read on huifang.delivery_allowed_hosts for select to huifang_app
    using ((select huifang.scope_org_admin()) or (select huifang.scope_system()));

drop policy if exists admin_insert on huifang.delivery_allowed_hosts;
create policy admin_insert on huifang.delivery_allowed_hosts for insert to huifang_app
    with check ((select huifang.scope_org_admin()) and delivery_allowed_hosts.created_by = (select huifang.scope_staff_id()));

drop policy if exists admin_update on huifang.delivery_allowed_hosts;
create policy admin_update on huifang.delivery_allowed_hosts for update to huifang_app
    using ((select huifang.scope_org_admin())) with check ((select huifang.scope_org_admin()));

drop policy if exists admin_delete on huifang.delivery_allowed_hosts;
create policy admin_delete on huifang.delivery_allowed_hosts for delete to huifang_app
    using ((select huifang.scope_org_admin()));

-- ══ row-level security: huifang.delivery_digest_days, huifang.delivery_digests ══

drop policy if exists owner_all on huifang.delivery_digest_days;
create policy owner_all on huifang.delivery_digest_days to current_user using (true) with check (true);

drop policy if exists engine on huifang.delivery_digest_days;
create policy engine on huifang.delivery_digest_days for select to huifang_app using ((select huifang.scope_system()));

drop policy if exists owner_all on huifang.delivery_digests;
create policy owner_all on huifang.delivery_digests to current_user using (true) with check (true);

-- A digest is seen by the engine and by whoever sees a channel it was delivered to.
drop policy if exists read_delivered on huifang.delivery_digests;
create policy read_delivered on huifang.delivery_digests for select to huifang_app
    using ((select huifang.scope_system())
           or exists (select from huifang.deliveries d where d.digest_id = delivery_digests.id));

-- ══ row-level security: huifang.deliveries ══

drop policy if exists owner_all on huifang.deliveries;
create policy owner_all on huifang.deliveries to current_user using (true) with check (true);

drop policy if exists engine on huifang.deliveries;
create policy engine on huifang.deliveries to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

-- A delivery follows its channel: whoever reaches the channel (its row-level security applies inside)
-- reads the delivery, and with the manage action retries it.
drop policy if exists read_by_channel on huifang.deliveries;
create policy read_by_channel on huifang.deliveries for select to huifang_app
    using (exists (select from huifang.delivery_channels c where c.id = deliveries.channel_id));

drop policy if exists retry_by_channel on huifang.deliveries;
create policy retry_by_channel on huifang.deliveries for update to huifang_app
    using (exists (select from huifang.delivery_channels c where c.id = deliveries.channel_id)
           and (select huifang.scope_action()) = 'manageDeliveryChannels')
    with check (exists (select from huifang.delivery_channels c where c.id = deliveries.channel_id));

-- ══ row-level security: huifang.delivery_attempts ══

drop policy if exists owner_all on huifang.delivery_attempts;
create policy owner_all on huifang.delivery_attempts to current_user using (true) with check (true);

drop policy if exists engine on huifang.delivery_attempts;
create policy engine on huifang.delivery_attempts to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

drop policy if exists read_by_delivery on huifang.delivery_attempts;
create policy read_by_delivery on huifang.delivery_attempts for select to huifang_app
    using (exists (select from huifang.deliveries d where d.id = delivery_attempts.delivery_id));
