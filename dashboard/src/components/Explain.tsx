import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import type { Channel, Recipient, WorkflowSummary } from '../types';
import { Badge } from './ui';
import { Explanation } from './Timeline';

interface ExplainAnswer {
  allowed?: boolean;
  would_send?: boolean;
  reason?: string | null;
  explanation?: unknown;
  [k: string]: unknown;
}

/** "Would this recipient get workflow W on channel C now, and why not?" */
export function ExplainBox({ recipient }: { recipient: Recipient }) {
  const workflows = useQuery({ queryKey: ['workflows'], queryFn: ({ signal }) => api<{ items: WorkflowSummary[] }>('/dashboard/api/workflows', { signal }) });
  const channels = useQuery({ queryKey: ['channels'], queryFn: ({ signal }) => api<{ items?: Channel[]; entries?: Channel[] }>('/dashboard/api/channels', { signal }) });
  const [form, setForm] = useState({ workflow: '', channel_key: '', tenant: '' });
  const [asked, setAsked] = useState<typeof form | null>(null);
  const answer = useQuery({
    queryKey: ['explain', recipient, asked],
    enabled: asked !== null,
    queryFn: ({ signal }) => api<ExplainAnswer>('/dashboard/api/explain', {
      query: { recipient: typeof recipient === 'string' ? recipient : JSON.stringify(recipient), ...asked },
      signal,
    }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked({ ...form });
  };
  const channelList = channels.data?.items ?? channels.data?.entries ?? [];
  const allowed = answer.data ? (answer.data.allowed ?? answer.data.would_send) : undefined;
  return (
    <form className="form explain" onSubmit={submit} aria-label="Explain a delivery decision">
      <div className="form-grid">
        <label className="field">
          <span>Workflow</span>
          <select name="workflow" required value={form.workflow} onChange={(e) => setForm({ ...form, workflow: e.target.value })}>
            <option value="">Choose…</option>
            {(workflows.data?.items ?? []).map((w) => <option key={w.key} value={w.key}>{w.key}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Channel</span>
          <select name="channel_key" required value={form.channel_key} onChange={(e) => setForm({ ...form, channel_key: e.target.value })}>
            <option value="">Choose…</option>
            {channelList.map((c) => <option key={c.key} value={c.key}>{c.key} ({c.type ?? c.channel_type})</option>)}
          </select>
        </label>
        <label className="field">
          <span>Tenant <span className="muted">(optional)</span></span>
          <input name="tenant" value={form.tenant} onChange={(e) => setForm({ ...form, tenant: e.target.value })} />
        </label>
      </div>
      <div className="form-actions"><button type="submit" className="btn btn-primary">Explain</button></div>
      <div aria-live="polite">
        {answer.isError ? <p className="note note-error" role="alert">{errorMessage(answer.error)}</p> : null}
        {answer.data ? (
          <div className="explain-answer" data-allowed={String(allowed)}>
            <p>
              <Badge value={allowed ? 'allowed' : 'denied'} />{' '}
              {allowed ? 'This recipient would get this workflow on this channel now.' : 'This recipient would not get it now.'}
            </p>
            <Explanation value={answer.data.explanation ?? answer.data} />
          </div>
        ) : null}
      </div>
    </form>
  );
}
