-- A branch's records newest first (`GET /records`) walked the primary key (branch_id, id,
-- created_at) in id order, merging every year's partition (13 on ten years of national data), and
-- HQ's list did that for each of 350 branches: 250 ms. Listed by creation time, the partition key,
-- a walk reads the newest year first and stops at a page; the filtered lists already have keys in
-- that order (by state, performer, client).
create index records_by_time on huifang.records (branch_id, created_at, id);
