-- Art 10, 12.3, 14: whom a directive targets, recorded as a fact of its own. Coverage counts the
-- special-callback population from these, not from the tasks created for them: a target that
-- got no task shows as a gap instead of vanishing.

create table huifang.directive_targets (
    branch_id integer not null references huifang.branches,
    directive_id bigint not null references huifang.directives,
    client_id bigint not null,
    primary key (branch_id, directive_id, client_id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id)
);
comment on table huifang.directive_targets is
    'Each client a directive targets, as resolved when it was issued; the population of its special callbacks';

-- Directives issued before this table: their targets are the clients their tasks were created for.
insert into huifang.directive_targets (branch_id, directive_id, client_id)
select distinct t.branch_id, t.directive_id, t.client_id
from huifang.callback_tasks t
where t.directive_id is not null and t.client_id is not null;

alter table huifang.directive_targets enable row level security;
alter table huifang.directive_targets force row level security;
grant select, insert on huifang.directive_targets to huifang_app;
