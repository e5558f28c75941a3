-- Fan-out pages are planned outside any transaction (engine/fanout-page.ts): a process leases
-- the fan-out while it reads, plans and renders a page, so other processes expand other
-- fan-outs meanwhile instead of planning the same page for nothing. The page commits only
-- while its lease and cursor still hold; a cancel clears the lease, so a page planned before
-- it is planned again with the cancel applied. lease_until existed unused since migration 003.
ALTER TABLE fanouts ADD COLUMN lease_owner text;
