-- Coverage's population of broker-introduced accounts (Art 12.1(1)) counts the accounts a period
-- opened that a broker introduced. For HQ's year on the national set that read 333,564 introduced
-- clients' rows to keep the 35,964 opened in 2026 (480 ms); this index has only the introduced ones,
-- by branch and opening.
create index clients_broker_introduced_by_opening on huifang.clients (branch_id, opened_at) where referrer_broker_id is not null;
