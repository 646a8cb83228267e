-- HQ's national record list newest first (`GET /records` as a reader of every branch) walked each
-- of 350 branches' keys in each of the years' partitions and merged them: 4,550 walks, 100–160 ms on
-- ten years of national data. One time key over every branch lets it walk each year's partition once.
create index records_newest on huifang.records (created_at, id);
