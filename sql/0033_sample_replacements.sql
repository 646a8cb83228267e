-- Art 12.1(2), 13.2: a sampled member whose account closes before the callback, or who ends
-- unreachable, no longer counts towards the ≥ 30 % / ≥ 20 % floor; the next member of the same
-- draw, in its recorded order, replaces it (sql/definitions/61_tasks.sql). The replacement names
-- the task it replaces and why, so an auditor re-derives it from the same seed and population.

alter table huifang.callback_tasks
    add column replaces_task_id bigint,
    add column replacement_reason text,
    add foreign key (branch_id, replaces_task_id) references huifang.callback_tasks (branch_id, id),
    add check ((replaces_task_id is null) = (replacement_reason is null)),
    add check (replaces_task_id is null or draw_id is not null);

comment on column huifang.callback_tasks.replaces_task_id is
    'A replacement drawn for this sampled task (closed account or unreachable): the task it replaces';

-- One replacement per task.
create unique index callback_tasks_replacement on huifang.callback_tasks (branch_id, replaces_task_id)
    where replaces_task_id is not null;
