import { Link } from 'react-router';
import type { RunDetail, TimelineEntry } from '../types';
import { Badge, Json, RecipientLink, Section, Time } from './ui';

const late = (ms: number | null | undefined) => {
  if (ms == null || ms <= 0) return null;
  return ms < 1000 ? `${Math.round(ms)} ms late` : `${(ms / 1000).toFixed(1)} s late`;
};

function hasDetail(detail: unknown): boolean {
  if (detail == null) return false;
  if (typeof detail === 'object') return Object.keys(detail as object).length > 0;
  return true;
}

/** What an event means, for its colour and badge: the type says skipped/failed, `outcome` says error. */
function stateOf(entry: TimelineEntry): string {
  if (entry.outcome === 'error' || /failed$/.test(entry.type)) return 'failed';
  if (/skipped$/.test(entry.type)) return 'skipped';
  if (/cancelled$/.test(entry.type)) return 'cancelled';
  if (/halted$/.test(entry.type)) return 'halted';
  if (/completed$/.test(entry.type)) return 'completed';
  return 'started';
}

function Entry({ entry }: { entry: TimelineEntry }) {
  const outcome = stateOf(entry);
  const lateness = late(entry.late_ms);
  return (
    <li className={`tl-entry tl-${outcome}`} data-step-ref={entry.step_ref ?? undefined} data-type={entry.type} data-outcome={outcome}>
      <span className="tl-dot" aria-hidden="true" />
      <div className="tl-body">
        <div className="tl-line">
          <strong className="tl-type">{entry.type.replace(/_/g, ' ')}</strong>
          {entry.step_ref ? <code className="tl-ref">{entry.step_ref}</code> : null}
          {entry.step_type ? <span className="muted small">{entry.step_type}</span> : null}
          {outcome !== 'started' ? <Badge value={outcome} /> : null}
          {entry.attempt && entry.attempt > 1 ? <span className="small muted">attempt {entry.attempt}</span> : null}
          {lateness ? <span className="badge tone-warn">{lateness}</span> : null}
          <span className="tl-time small muted"><Time at={entry.at} /></span>
        </div>
        {entry.reason ? <p className="tl-reason">{entry.reason}</p> : null}
        {hasDetail(entry.detail) ? (
          <details className="tl-detail">
            <summary>Details</summary>
            <Json value={entry.detail} label={`Details of ${entry.type}${entry.step_ref ? ` at ${entry.step_ref}` : ''}`} />
          </details>
        ) : null}
      </div>
    </li>
  );
}

const batchCount = (b: NonNullable<RunDetail['batch']>) => {
  const n = b.total_activities ?? b.activities.length;
  return `${n} activit${n === 1 ? 'y' : 'ies'}${n > b.activities.length ? ` (the newest ${b.activities.length} below)` : ''}`;
};

export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  if (entries.length === 0) return <p className="muted">No steps have run yet.</p>;
  return (
    <ol className="timeline" aria-label="Step timeline">
      {entries.map((e, i) => <Entry key={`${e.at}-${i}`} entry={e} />)}
    </ol>
  );
}

/** The run's timeline with everything recorded beside it: preferences, fetches, batch, messages. */
export function RunDetails({ detail }: { detail: RunDetail }) {
  const explanations = detail.preference_explanations ?? [];
  const fetches = detail.fetches ?? [];
  return (
    <>
      <Section title="Step timeline" id="timeline">
        <Timeline entries={detail.timeline} />
      </Section>
      {explanations.length > 0 ? (
        <Section title="Preferences of each channel step">
          <ul className="plain-list explanations">
            {explanations.map((p) => (
              <li key={`${p.step_ref}-${p.channel_key}`} data-step-ref={p.step_ref} data-allowed={String(p.allowed)}>
                <div className="row-line">
                  <code>{p.step_ref}</code>{p.channel_key ? <span className="muted">{p.channel_key}</span> : null}
                  <Badge value={p.allowed ? 'allowed' : 'denied'} />
                </div>
                <Explanation value={p.explanation} />
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      {detail.batch ? (
        <Section title="Batch">
          <p>
            {detail.batch.key ? <>Batch key <code>{detail.batch.key}</code>{detail.batch.step_ref ? <> at step <code>{detail.batch.step_ref}</code></> : null}, w</> : 'W'}indow
            ends <Time at={detail.batch.window_ends_at} />, {batchCount(detail.batch)}.
          </p>
          <Json value={detail.batch.activities} label="Batch activities" />
        </Section>
      ) : null}
      {fetches.length > 0 ? (
        <Section title="Fetch requests">
          {fetches.map((f, i) => (
            <div key={`${f.step_ref}-${i}`} className="fetch">
              <h3><code>{f.step_ref}</code></h3>
              <div className="grid-2">
                <div><h4>Request</h4><Json value={f.request} label={`Request of ${f.step_ref}`} /></div>
                <div><h4>Response</h4><Json value={f.response} label={`Response of ${f.step_ref}`} /></div>
              </div>
            </div>
          ))}
        </Section>
      ) : null}
      <Section title="Messages created">
        {detail.messages.length === 0 ? <p className="muted">This run created no messages.</p> : (
          <table className="table">
            <thead><tr><th scope="col">Message</th><th scope="col">Channel</th><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {detail.messages.map((m) => (
                <tr key={m.id}>
                  <td><Link to={`/messages/${encodeURIComponent(m.id)}`}><code>{m.id}</code></Link></td>
                  <td>{m.channel_key ?? m.channel_type ?? m.channel_id ?? '—'}</td>
                  <td><RecipientLink recipient={m.recipient} /></td>
                  <td><Badge value={m.status} /></td>
                  <td><Time at={m.inserted_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

/** A preference explanation: its reason in words first, then what decided it. */
export function Explanation({ value }: { value: unknown }) {
  if (typeof value === 'string') return <p className="explanation">{value}</p>;
  if (value && typeof value === 'object') {
    const v = value as { reason?: string | null; decided_by?: { layer?: string | null; key?: string } | null };
    return (
      <div className="explanation">
        {v.reason ? <p>{v.reason}</p> : null}
        {v.decided_by ? <p className="small">Decided by <code>{v.decided_by.key}</code>{v.decided_by.layer ? <> — {v.decided_by.layer}</> : null}</p> : null}
        <details><summary>All layers</summary><Json value={value} label="Preference explanation" /></details>
      </div>
    );
  }
  return null;
}
