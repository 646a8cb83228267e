-- Art 11, 13: the asset snapshots that decide who is core, ≥ 10M, small/medium or dormant are
-- facts a period is judged on; they are no longer overwritten. A correction is a new revision of
-- the client's snapshot for that date, with who recorded it, when and why (audited), and every
-- reader takes the latest revision — as it was known at a moment when it asks for one
-- (`client_segments(as_of, known_at)`, sql/definitions/40_clients.sql).

alter table huifang.client_asset_snapshots
    add column revision integer not null default 1 check (revision >= 1),
    add column recorded_at timestamptz not null default now(),
    add column recorded_by bigint references huifang.staff,
    add column correction_reason text,
    add constraint client_asset_snapshots_correction
        check ((revision = 1) = (correction_reason is null) and (correction_reason is null or btrim(correction_reason) <> ''));

-- Snapshots recorded before this migration carry no time of their own: taken as known on the day
-- after their date (as a nightly feed delivers them), never later than now.
update huifang.client_asset_snapshots
set recorded_at = least(now(), (as_of + 1)::timestamp at time zone 'Asia/Shanghai');

alter table huifang.client_asset_snapshots drop constraint client_asset_snapshots_pkey;
alter table huifang.client_asset_snapshots add primary key (branch_id, client_id, as_of, revision);

comment on column huifang.client_asset_snapshots.revision is
    '1 as first recorded; each correction of the same client and date is the next revision, with its reason';

-- Revisions are written, never changed: the request role inserts only.
revoke update on huifang.client_asset_snapshots from huifang_app;
drop policy update_scoped on huifang.client_asset_snapshots;

-- When each draw judged its population: later corrections do not re-judge the window.
alter table huifang.obligation_draws add column known_at timestamptz not null default now();
update huifang.obligation_draws set known_at = drawn_at;
comment on column huifang.obligation_draws.known_at is
    'The snapshots of the population were read as known at this instant (the window''s first draw)';

-- The old signature; sql/definitions/40_clients.sql defines client_segments(as_of, known_at).
drop function huifang.client_segments(date);
