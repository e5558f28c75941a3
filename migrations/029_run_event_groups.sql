-- One run_events row per advance instead of one per event (issue 12: a simple in-app run wrote
-- four event rows, each with two index entries, more rows than its run and message together).
-- An advance that records several events writes one row with event = 'advance' holding them,
-- in order, in `events` (each with its own id, status, step, data and time); its status is
-- 'error' when any of them is, so run_events_errors_idx still finds every failure. A row with
-- one event is written as before (events NULL). Read events through run_event_list, which
-- unnests the groups and orders by (seq, n).
ALTER TABLE run_events ADD COLUMN events jsonb;

CREATE VIEW run_event_list AS
  SELECT e.recipient_run_id, e.seq, 0::bigint AS n, e.id, e.event, e.status, e.step_ref, e.step_type, e.attempt, e.data, e.inserted_at
    FROM run_events e
   WHERE e.events IS NULL
  UNION ALL
  SELECT e.recipient_run_id, e.seq, x.n, (x.ev->>'id')::uuid, x.ev->>'event', COALESCE(x.ev->>'status', 'ok'),
         x.ev->>'step_ref', x.ev->>'step_type', (x.ev->>'attempt')::int, NULLIF(x.ev->'data', 'null'::jsonb),
         (x.ev->>'inserted_at')::timestamptz
    FROM run_events e
   CROSS JOIN LATERAL jsonb_array_elements(e.events) WITH ORDINALITY AS x(ev, n)
   WHERE e.events IS NOT NULL;
