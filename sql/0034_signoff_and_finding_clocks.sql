-- Art 5, 12, 17: two deadlines the articles imply and nothing timed. A submitted record is
-- countersigned (or returned) by its leader within 2 working days; a finding of a countersigned
-- record is raised as a problem or dismissed with a reason within 2 working days. Both are rules
-- in data, run on the SLA engine (sql/definitions/70_records.sql starts and stops them).
-- Clocks start for submissions and countersignatures from this migration on: starting them for
-- records already waiting would fire every stage at once.

create table huifang.clock_rules (
    clock text primary key check (clock ~ '^[a-z][a-z0-9_]*$'),
    subject_kind text not null check (subject_kind ~ '^[a-z][a-z_]*$'),
    workdays integer not null check (workdays between 1 and 250),
    articles text not null,
    description text not null
);
comment on table huifang.clock_rules is 'Deadlines kept as data: the working days of a clock the database starts itself';

insert into huifang.clock_rules (clock, subject_kind, workdays, articles, description) values
    ('record_countersignature', 'record_submission', 2, 'Art 5, 12',
     'the leader countersigns or returns a submitted record within 2 working days of its submission'),
    ('finding_handling', 'record_finding', 2, 'Art 5, 17',
     'a finding of a countersigned record is raised as a problem or dismissed with a reason within 2 working days');

grant select on huifang.clock_rules to huifang_app;

alter table huifang.record_findings
    add column dismissed_at timestamptz,
    add column dismissed_by bigint references huifang.staff,
    add column dismissal_reason text,
    add constraint record_findings_dismissal
        check ((dismissed_at is null) = (dismissed_by is null) and (dismissed_at is null) = (dismissal_reason is null)
               and (dismissal_reason is null or btrim(dismissal_reason) <> '')),
    add constraint record_findings_raised_or_dismissed check (dismissed_at is null or raised_at is null);

comment on column huifang.record_findings.dismissal_reason is
    'Why the performer did not raise the finding as a problem (Art 5: every finding is handled)';
