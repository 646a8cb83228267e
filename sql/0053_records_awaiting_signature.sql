-- What waits for a signer is walked from their grants (RecordStore.list): a branch grant walks
-- the branch's submitted records, an HQ grant its department's. These hold the submitted records
-- alone, newest first; the department's index held every record it ever received (issue 23).
create index records_awaiting_branch_signature on huifang.records (branch_id, id) where state = 'submitted';
create index records_awaiting_hq_signature on huifang.records (hq_department_id, id)
    where state = 'submitted' and hq_department_id is not null;
