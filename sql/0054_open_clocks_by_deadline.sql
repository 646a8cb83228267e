-- HQ's overdue and at-risk lists over every branch walk the open clocks in deadline order and
-- stop at the page. They merged each branch's first page: 350 branches × 540 clocks read from the
-- heap for the at-risk list, whose 75 % warning is not in the per-branch index (400 ms at national
-- scale; 0.5 ms with this; issue 23).
create index timers_open_by_deadline on huifang.timers (due_at, branch_id, id) where stopped_at is null;
