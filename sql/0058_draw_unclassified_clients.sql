-- The coverage report's "unclassified" column (open clients with no asset snapshot before a window,
-- as known when the window was first drawn) counted, for every branch and window of the period, an
-- anti-join of the branch's clients against their snapshots: 15 windows × 1M clients for HQ's
-- coverage of a year, past the request deadline at national scale (issue 23).
--
-- The figure is judged once, when the window is first drawn — the moment its `known_at` names —
-- and kept on that draw. The report adds the clients that arrived after it (an import of accounts
-- opened before the window): they can have no snapshot known then, since a snapshot is recorded
-- after its client. So the report's figure is the one the anti-join gave, read from one row per
-- window plus an index range of late arrivals (clients_arrived_late). A client closed later with a
-- closing date before the window stays counted as it was judged: the figure may then be one too
-- high, never too low.

alter table huifang.obligation_draws add column unclassified_clients integer check (unclassified_clients >= 0);

comment on column huifang.obligation_draws.unclassified_clients is
    'First draw of an asset-judged window: the branch''s clients open at the window''s start, opened before it, with no snapshot before it known at known_at';

-- Only a client written in a later month than it was opened can arrive after a window it belongs to
-- was drawn (windows start on the first of a month, and are drawn once begun): a late import. The
-- index holds those alone, and no other query of clients implies its predicate.
create index clients_arrived_late on huifang.clients (branch_id, created_at)
    where opened_at < (date_trunc('month', created_at at time zone 'Asia/Shanghai') at time zone 'Asia/Shanghai');

-- The draws already made, judged as the report judged them, among the clients there were then.
update huifang.obligation_draws d
set unclassified_clients = (
    select count(*)
    from huifang.clients c
    where c.branch_id = d.branch_id
      and c.created_at <= d.known_at
      and c.opened_at < (lower(huifang.period_range(d.sample_window))::timestamp at time zone 'Asia/Shanghai')
      and (c.closed_at is null or c.closed_at >= (lower(huifang.period_range(d.sample_window))::timestamp at time zone 'Asia/Shanghai'))
      and not exists (select from huifang.client_asset_snapshots s
                      where s.branch_id = c.branch_id and s.client_id = c.id
                        and s.as_of < lower(huifang.period_range(d.sample_window)) and s.recorded_at <= d.known_at))
where d.draw_no = 1 and d.rule_code in ('core_monthly', 'service_half_year', 'st_annual');
