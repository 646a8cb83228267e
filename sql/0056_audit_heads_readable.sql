-- The console's audit page runs `huifang audit verify`'s check as the auditor, through the request
-- role (issue 20), and the check reads each chain's head and what archiving removed (0055). Their
-- seq and hash are what the chain's own last events carry, so the request role reads them as it
-- reads the trail: a branch's chain by those who read the branch, every chain by HQ readers of
-- every branch; it never writes them (the chain trigger and `huifang archive` do, as the owner).
alter table huifang.audit_chain_heads enable row level security;
alter table huifang.audit_chain_heads force row level security;
alter table huifang.audit_archived_heads enable row level security;
alter table huifang.audit_archived_heads force row level security;
grant select on huifang.audit_chain_heads, huifang.audit_archived_heads to huifang_app;
comment on table huifang.audit_chain_heads is
    'The last event of each audit chain (seq and hash), kept by the chain trigger; read by huifang_app as the trail is';
