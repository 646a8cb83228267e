-- HQ and the HQ departments name a problem, a forwarding, a task, a monthly upload, a feedback
-- package or an evaluation by its id alone: the API's ids name no branch. The statement
-- then probed each branch's (branch_id, id) key, 350 probes on the national set, about 3 ms of a
-- step's database time (the Brokerage Ops Center claiming a problem, a department answering a
-- forwarding, the call center working a task). Each table's id, alone, finds it in one probe;
-- row-level security still decides whether the caller may see it. Built without `concurrently`:
-- writers of the table wait while it builds, about a second per million rows.
--
-- Not clients: given an id index there, the planner read the call center's policy on clients (a
-- client of one of its tasks) as one hashed scan of every branch's tasks, in a branch's own
-- statements too, which then no longer route to the branch's shard (BranchRequestsRouteToOneShard).
create index problems_by_id on huifang.problems (id);
create index problem_forwardings_by_id on huifang.problem_forwardings (id);
create index callback_tasks_by_id on huifang.callback_tasks (id);
create index record_uploads_by_id on huifang.record_uploads (id);
create index directive_feedback_by_id on huifang.directive_feedback (id);
create index evaluations_by_id on huifang.evaluations (id);
