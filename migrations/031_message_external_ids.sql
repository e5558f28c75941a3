-- Provider ids of messages in a table of their own, so that settling a delivery updates its
-- message in place (issue 12, email).
--
-- A delivery's settle writes the message's status, the provider that sent it and that
-- provider's id for it. While (provider, external_id) was indexed on `messages`
-- (messages_external_id_idx), that update could never be HOT: every sent email, SMS or push
-- wrote a new entry in each of the message's five other indexes too. The lookup a provider's
-- status webhook needs (provider, external id -> message) now lives here, written once per id;
-- the columns stay on `messages`, unindexed, for the API to read. Rows are deleted with their
-- message (retention.ts, message-status.ts); one left behind matches no message and is ignored.
CREATE TABLE message_external_ids (
  provider    text NOT NULL,
  external_id text NOT NULL,
  message_id  text NOT NULL,
  PRIMARY KEY (provider, external_id, message_id)
);

INSERT INTO message_external_ids (provider, external_id, message_id)
SELECT provider, external_id, id FROM messages WHERE provider IS NOT NULL AND external_id IS NOT NULL;

DROP INDEX messages_external_id_idx;

-- Room on each page for updated versions of its rows, so the settle's update (and an in-app
-- message's seen / read) stays on its page as a HOT update: no new index entries. At the default
-- 100 every page is full when written and the first update of a row must move it. A settle
-- updates messages created together, so several rows of one page at once: over 10,000 emails
-- (bench/email.ts), 50 % of the settles' updates were HOT at fillfactor 85 and 78 % at 70, and
-- the settle statements' execution time went from 1.9 s to 1.6 s and 1.3 s. The table is not
-- larger for it where rows are updated (a non-HOT update writes its new version on another
-- page anyway: 1,243 pages at 70 against 1,188 at 85 for those 10,000 sent emails); rows never
-- updated take up to 30 % more pages.
ALTER TABLE messages SET (fillfactor = 70);
