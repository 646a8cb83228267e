-- A department that reads no branch (the call center) lists the records it executed newest first
-- by this index (RecordStore.list); walking every branch's records for its 10,545 among 5 million
-- ran past the request deadline at national scale (issue 23).
create index records_executed_by on huifang.records (executor_department_id, id) where executor_department_id is not null;
create index records_routed_to on huifang.records (hq_department_id, id) where hq_department_id is not null;
