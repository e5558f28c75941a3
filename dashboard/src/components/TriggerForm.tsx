import { useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import type { Paged, Run, RunDetail } from '../types';
import { rows } from '../types';
import { Badge, RecipientLink } from './ui';
import { Timeline } from './Timeline';

const FINISHED = new Set(['completed', 'cancelled']);

/** An example value for a JSON schema: its default or example, else an empty value of its type. */
export function exampleOf(schema: unknown, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 6) return null;
  const s = schema as { default?: unknown; examples?: unknown[]; example?: unknown; type?: string | string[]; properties?: Record<string, unknown>; items?: unknown; enum?: unknown[] };
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  if (type === 'object' || s.properties) {
    return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, exampleOf(v, depth + 1)]));
  }
  switch (type) {
    case 'array': return [];
    case 'string': return '';
    case 'number': case 'integer': return 0;
    case 'boolean': return false;
    default: return null;
  }
}

const splitIds = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

/** One run of the trigger, polled until it finishes, with its timeline. */
function LiveRun({ run }: { run: Run }) {
  const detail = useQuery({
    queryKey: ['run', run.id],
    queryFn: ({ signal }) => api<RunDetail>(`/dashboard/api/runs/${encodeURIComponent(run.id)}`, { signal }),
    refetchInterval: (q) => (q.state.data && FINISHED.has(q.state.data.run.status) ? false : 1000),
  });
  const status = detail.data?.run.status ?? run.status;
  return (
    <li className="live-run" data-run-id={run.id} data-status={status}>
      <div className="row-line">
        <Link to={`/runs/${encodeURIComponent(run.id)}`}>Run <code>{run.id}</code></Link>
        <span>for <RecipientLink recipient={run.recipient} /></span>
        <Badge value={status} />
      </div>
      {detail.data ? <Timeline entries={detail.data.timeline} /> : null}
    </li>
  );
}

/** The runs a trigger created (one per recipient), found by its workflow_run_id. */
function TriggeredRuns({ workflowRunId, expected }: { workflowRunId: string; expected: number }) {
  const runs = useQuery({
    queryKey: ['trigger-runs', workflowRunId],
    queryFn: ({ signal }) => api<Paged<Run>>('/v1/workflow_recipient_runs', { query: { workflow_run_id: workflowRunId, page_size: 50 }, signal }),
    // Fan-out to many recipients may take a moment: poll until every run exists.
    refetchInterval: (q) => (rows(q.state.data).length >= expected ? false : 1000),
  });
  const list = rows(runs.data);
  return (
    <div className="triggered" aria-live="polite">
      <p>Triggered: workflow run <code data-testid="workflow-run-id">{workflowRunId}</code></p>
      {list.length === 0 ? <p className="muted">Waiting for the run to start…</p> : (
        <ul className="plain-list">{list.map((r) => <LiveRun key={r.id} run={r} />)}</ul>
      )}
    </div>
  );
}

export function TriggerForm({ workflowKey, schema }: { workflowKey: string; schema?: Record<string, unknown> | null }) {
  const initialData = useMemo(() => JSON.stringify(schema ? exampleOf(schema) ?? {} : {}, null, 2), [schema]);
  const [recipients, setRecipients] = useState('');
  const [actor, setActor] = useState('');
  const [tenant, setTenant] = useState('');
  const [cancellationKey, setCancellationKey] = useState('');
  const [data, setData] = useState(initialData);
  const [dataError, setDataError] = useState<string | null>(null);

  const trigger = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<{ workflow_run_id: string }>(`/v1/workflows/${encodeURIComponent(workflowKey)}/trigger`, { method: 'POST', body }),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = data.trim() ? JSON.parse(data) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('Data must be a JSON object.');
    } catch (err) {
      setDataError(err instanceof SyntaxError ? `Data is not valid JSON: ${err.message}` : (err as Error).message);
      return;
    }
    setDataError(null);
    trigger.mutate({
      recipients: splitIds(recipients),
      ...(actor.trim() ? { actor: actor.trim() } : {}),
      ...(tenant.trim() ? { tenant: tenant.trim() } : {}),
      ...(cancellationKey.trim() ? { cancellation_key: cancellationKey.trim() } : {}),
      data: parsed,
    });
  };

  return (
    <form className="form" onSubmit={submit} aria-label="Test trigger">
      <div className="form-grid">
        <label className="field">
          <span>Recipients <span className="muted">(user ids, comma-separated)</span></span>
          <input name="recipients" required value={recipients} onChange={(e) => setRecipients(e.target.value)} placeholder="ada, grace" />
        </label>
        <label className="field">
          <span>Actor <span className="muted">(optional user id)</span></span>
          <input name="actor" value={actor} onChange={(e) => setActor(e.target.value)} />
        </label>
        <label className="field">
          <span>Tenant <span className="muted">(optional)</span></span>
          <input name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} />
        </label>
        <label className="field">
          <span>Cancellation key <span className="muted">(optional)</span></span>
          <input name="cancellation_key" value={cancellationKey} onChange={(e) => setCancellationKey(e.target.value)} />
        </label>
      </div>
      <label className="field">
        <span>Data <span className="muted">(JSON{schema ? ', prefilled from the trigger-data schema' : ''})</span></span>
        <textarea name="data" rows={6} className="mono" value={data} onChange={(e) => setData(e.target.value)} spellCheck={false} />
      </label>
      {dataError ? <p className="note note-error" role="alert">{dataError}</p> : null}
      {trigger.isError ? <p className="note note-error" role="alert">{errorMessage(trigger.error)}</p> : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={trigger.isPending}>{trigger.isPending ? 'Triggering…' : 'Trigger'}</button>
      </div>
      {trigger.data ? <TriggeredRuns key={trigger.data.workflow_run_id} workflowRunId={trigger.data.workflow_run_id} expected={Math.max(1, splitIds(recipients).length)} /> : null}
    </form>
  );
}
