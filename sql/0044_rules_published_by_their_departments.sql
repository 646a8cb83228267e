-- Issue 19, second reading: any request could insert a version of any obligation or event rule —
-- a branch could raise the large-movement threshold for every branch and name someone else as its
-- publisher. Rule versions are now under row-level security (policies in
-- sql/definitions/60_obligations.sql: the Brokerage Ops Center publishes, Risk Control HQ too for
-- event rules), and who published a version and when are set by the database, not sent.

alter table huifang.obligation_rules enable row level security;
alter table huifang.obligation_rules force row level security;

revoke insert on huifang.obligation_rules from huifang_app;
grant insert (code, version, effective_from, title, articles, population, coverage_percent, cadence, due_workdays,
              owner_role, executor, record_form, note, event_kind, min_amount, min_share)
    on huifang.obligation_rules to huifang_app;
