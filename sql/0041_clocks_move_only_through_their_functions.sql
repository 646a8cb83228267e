-- Issue 19 A3: the request role could UPDATE any column of a timer of its branch (started_at,
-- workdays, due_at, stage_at, next_fire_at, state, stopped_at …) and insert timers of its choosing;
-- a task's deadline followed the timer. Only the SLA engine (huifang.fire_due_timers, scope system),
-- the workflows' own security-definer functions and triggers, and a calendar load
-- (huifang.load_calendar_year) move a clock now. The fired stages (sla_events) are the engine's too.
-- Revoking a table privilege also revokes the matching column privileges.
revoke insert, update, delete, truncate on huifang.timers from huifang_app;
revoke insert, update, delete, truncate on huifang.sla_events from huifang_app;
