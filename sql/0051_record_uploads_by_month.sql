-- An HQ department's upload inbox lists every branch's months, newest first. It gathered every
-- upload delivered to the department (24,358 at national scale) and sorted them for a page of 50:
-- 213–745 ms. A walk of the months in order stops at the page (3–7 ms; issue 23).
create index record_uploads_by_month on huifang.record_uploads (month, branch_id);
