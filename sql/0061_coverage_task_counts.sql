-- Coverage (GET /coverage, `huifang report coverage`) counted every task of the period's windows,
-- with its record, for every branch in scope: on the national set 173,290 tasks joined to every
-- record, 1.6–2.5 s for HQ's month and a timeout for its year (issue 23). The tasks are now kept per
-- branch, period, rule, standing and deadline by triggers on the tasks and on the records'
-- countersignature, in the transaction that changes them, as directive_task_counts are; an open
-- task keeps its deadline, so that overdue is told from open at the hour the report is read.
create table huifang.coverage_task_counts (
    branch_id integer not null references huifang.branches,
    period text not null,
    rule_code text not null,
    -- huifang.coverage_standing: on_time and late (completed, record countersigned), awaiting
    -- (completed, not countersigned), unreachable, cancelled, open (open, assigned, in progress).
    standing text not null check (standing in ('on_time', 'late', 'awaiting', 'unreachable', 'cancelled', 'open')),
    due_at timestamptz not null,
    tasks integer not null check (tasks >= 0),
    primary key (branch_id, period, rule_code, standing, due_at)
);

comment on table huifang.coverage_task_counts is
    'Callback tasks per branch, period, rule, standing and deadline, as coverage counts them; kept by triggers on callback_tasks and records';

alter table huifang.coverage_task_counts enable row level security;
alter table huifang.coverage_task_counts force row level security;
grant select on huifang.coverage_task_counts to huifang_app;

-- The standing as huifang.coverage_standing (sql/definitions/61_tasks.sql) tells it, which a
-- migration may not call: the definitions are applied after it.
insert into huifang.coverage_task_counts (branch_id, period, rule_code, standing, due_at, tasks)
select t.branch_id, t.period, t.rule_code,
       case when t.state = 'completed' and r.countersigned_at is not null then (case when t.closed_at <= t.due_at then 'on_time' else 'late' end)
            when t.state = 'completed' then 'awaiting'
            when t.state in ('unreachable', 'cancelled') then t.state
            else 'open' end,
       t.due_at, count(*)::int
from huifang.callback_tasks t
left join huifang.records r on r.branch_id = t.branch_id and r.id = t.record_id and r.created_at = t.record_created_at
group by 1, 2, 3, 4, 5;
