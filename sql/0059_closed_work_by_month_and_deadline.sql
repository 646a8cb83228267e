-- The assessment by branch (Art 19) counts each branch's countersignatures and returns of a month;
-- the signatures' only index led with the record, so every branch's whole history of signatures
-- was read for it: three signatures of five million records, past the request deadline for HQ at
-- national scale (issue 23). Only the steps the assessment counts are indexed.
create index record_signatures_by_month on huifang.record_signatures (branch_id, step, signed_at)
    where step in ('countersign', 'return');

-- A functional department's answered and accepted forwardings, by deadline: the running clocks had
-- their index (timers_held_open_by_deadline, 0045); the stopped ones were sorted whole, every
-- forwarding the department had answered, for each page (95–126 ms for IT at national scale).
-- Only the answer clocks, so the SLA figures keep reading their own index (timers_sla_by_month).
create index timers_answers_by_deadline on huifang.timers (department_id, due_at, branch_id, subject_id)
    where subject_kind = 'problem_forwarding' and clock = 'forwarding_answer';
