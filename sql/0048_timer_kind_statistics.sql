-- A clock's kind decides its subject's kind (problem_loop → problem, task_due → callback_task …),
-- but the planner multiplies the two equalities' selectivities as if independent: at national scale
-- it expected 8,564 running-or-stopped problem loops where there are 124,915, judged a walk of
-- `timers_open_problem_loops` in deadline order too costly for the auditor's national problem
-- list, and sorted every open problem instead (648 ms against 5 ms; issue 23). Multivariate
-- statistics give it the pairs' real frequencies.
create statistics if not exists huifang.timers_kind_clock (mcv, dependencies) on subject_kind, clock from huifang.timers;
analyze huifang.timers;
