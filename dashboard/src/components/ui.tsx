import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api';
import type { Recipient } from '../types';
import { recipientLabel, recipientPath } from '../types';

export function PageHeader({ title, children, subtitle }: { title: ReactNode; subtitle?: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="subtitle">{subtitle}</p> : null}
      </div>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}

export function ErrorNote({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  return (
    <div className="note note-error" role="alert">
      <strong>{title}.</strong> {errorMessage(error)}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p className="loading" role="status">{what}…</p>;
}

/** An empty state that says what to do next. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** The curl that triggers a workflow, for empty states. */
export function TriggerCurl({ workflow = 'welcome' }: { workflow?: string }) {
  const origin = typeof window === 'undefined' ? 'http://127.0.0.1:3000' : window.location.origin;
  return (
    <pre className="code" tabIndex={0} role="region" aria-label="Example trigger command">
      {`curl -X POST ${origin}/v1/workflows/${workflow}/trigger \\
  -H "Authorization: Bearer sk_…" -H 'Content-Type: application/json' \\
  -d '{"recipients": ["ada"], "data": {}}'`}
    </pre>
  );
}

const STATUS_TONE: Record<string, string> = {
  completed: 'ok', delivered: 'ok', sent: 'ok', seen: 'ok', read: 'ok', interacted: 'ok', allowed: 'ok', closed: 'ok', active: 'ok',
  queued: 'info', processing: 'info', paused: 'info', started: 'info', half_open: 'warn', open: 'bad', retrying: 'warn',
  cancelled: 'muted', skipped: 'warn', halted: 'warn', not_sent: 'warn', inactive: 'muted', archived: 'muted',
  undelivered: 'bad', bounced: 'bad', failed: 'bad', errored: 'bad', error: 'bad', denied: 'warn',
};

export function Badge({ value, tone }: { value: string | null | undefined; tone?: string }) {
  if (!value) return <span className="muted">—</span>;
  return <span className={`badge tone-${tone ?? STATUS_TONE[value] ?? 'muted'}`} data-status={value}>{value.replace(/_/g, ' ')}</span>;
}

const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  return <time dateTime={d.toISOString()} title={d.toISOString()}>{fmt.format(d)}</time>;
}

export function RecipientLink({ recipient }: { recipient: Recipient | null | undefined }) {
  if (recipient == null) return <span className="muted">—</span>;
  return <Link to={recipientPath(recipient)}>{recipientLabel(recipient)}</Link>;
}

/** Pretty JSON in a focusable, scrollable, labelled region (keyboard users can scroll it). */
export function Json({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  return <pre className="code json" tabIndex={0} role="region" aria-label={label}>{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}

/** A definition list of simple fields. */
export function Fields({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="fields">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? <span className="muted">—</span>}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-title`;
  return (
    <section className="card" id={id} aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** "Next page" for cursor pagination (Knock's page_info.after). */
export function Pager({ after, onNext, onFirst, isFirst }: { after?: string | null; onNext: (after: string) => void; onFirst: () => void; isFirst: boolean }) {
  if (!after && isFirst) return null;
  return (
    <nav className="pager" aria-label="Pages">
      {!isFirst ? <button type="button" className="btn" onClick={onFirst}>First page</button> : null}
      {after ? <button type="button" className="btn" onClick={() => onNext(after)}>Next page</button> : null}
    </nav>
  );
}
