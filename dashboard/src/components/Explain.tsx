import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import type { Channel, ExplainAnswer, Paged, Recipient, WorkflowSummary } from '../types';
import { rows } from '../types';
import { Badge } from './ui';
import { Explanation } from './Timeline';

/** "Would this recipient get workflow W on channel C now, and why not?" (GET /dashboard/api/explain) */
export function ExplainBox({ recipient }: { recipient: Recipient }) {
  const workflows = useQuery({ queryKey: ['workflows'], queryFn: ({ signal }) => api<{ items: WorkflowSummary[] }>('/dashboard/api/workflows', { signal }) });
  const channels = useQuery({ queryKey: ['channels'], queryFn: ({ signal }) => api<Paged<Channel>>('/dashboard/api/channels', { signal }) });
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
          <select name="channel_key" value={form.channel_key} onChange={(e) => setForm({ ...form, channel_key: e.target.value })}>
            <option value="">Every channel step</option>
            {rows(channels.data).map((c) => <option key={c.key} value={c.key}>{c.key} ({c.type})</option>)}
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
          <div className="explain-answer" data-would-send={String(answer.data.would_send)}>
            <p>
              <Badge value={answer.data.would_send ? 'allowed' : 'denied'} />{' '}
              {answer.data.would_send ? `Yes: ${answer.data.workflow} would reach this recipient now.` : `No: ${answer.data.workflow} would not reach this recipient now.`}
            </p>
            {answer.data.channels.length === 0 ? <p className="muted">The workflow has no channel step{form.channel_key ? ' on that channel' : ''}.</p> : (
              <ul className="plain-list">
                {answer.data.channels.map((c) => (
                  <li key={c.step_ref} data-step-ref={c.step_ref} data-would-send={String(c.would_send)}>
                    <div className="row-line"><code>{c.step_ref}</code> <span className="muted">{c.channel_key}</span> <Badge value={c.would_send ? 'allowed' : 'denied'} /></div>
                    {c.reason ? <p className="tl-reason">{c.reason}</p> : null}
                    {c.preference ? <Explanation value={c.preference} /> : null}
                  </li>
                ))}
              </ul>
            )}
          </div>
        ) : null}
      </div>
    </form>
  );
}
