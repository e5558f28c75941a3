-- The W3C trace context (traceparent, tracestate) of the request that triggered a workflow, when
-- tracing is on (src/telemetry): the worker that advances the trigger's runs, and the delivery
-- task that sends their messages, read it back to continue the same trace, possibly in another
-- process. Nullable with no default: adding it rewrites nothing, and untraced triggers store NULL.
ALTER TABLE workflow_triggers ADD COLUMN trace_context jsonb;
