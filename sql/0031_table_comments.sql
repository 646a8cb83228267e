-- Every table says what it is for: docs/schema.md is generated from these comments.

comment on table huifang.notification_reads is 'Who has read which notification, and when';
comment on table huifang.callback_task_transitions is 'The steps a callback task may take (Domain.TaskTransitions lists the same pairs)';
comment on table huifang.record_upload_deliveries is 'What each receiving HQ department gets from a monthly upload, and its acknowledgement (Art 15)';
comment on table huifang.record_findings is 'Problems, opinions and needs written in a record (Art 5, 17); the performer raises any of them for HQ';
comment on table huifang.record_transitions is 'The steps a callback record may take (Domain.RecordTransitions lists the same)';
comment on table huifang.problem_transitions is 'The problem state machine: who may take which action from which state (Domain.ProblemTransitions)';
comment on table huifang.problem_forwarding_transitions is 'The steps a forwarding to a functional department may take';
comment on table huifang.problem_forwardings is 'Problems forwarded to a functional department (Art 17–18): one per department and round, each with a 2-working-day clock';
comment on table huifang.problem_relays is 'The answer relayed back to the branch leader, the responsible person and the client (Art 18): one per recipient';
comment on table huifang.evaluations is 'A department''s yearly evaluation of one branch''s callback work (Art 6, 16)';
comment on table huifang.evaluation_scores is 'The score of an evaluation on each criterion';
comment on table huifang.evaluation_findings is 'Shortcomings an evaluation records, with their severity';

-- The migrator records the repeatable definitions (sql/definitions) it applied; /health compares them.
grant select on huifang.schema_definitions to huifang_app;
