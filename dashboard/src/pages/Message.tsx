import { Link, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { MessageDetail } from '../types';
import { Badge, ErrorNote, Fields, Json, Loading, PageHeader, RecipientLink, Section, Time } from '../components/ui';
import { messageWorkflow } from './Messages';

type Content = NonNullable<MessageDetail['content']>;

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The rendered content, by what it has: email HTML and text, an SMS, a push payload, chat blocks. */
function RenderedContent({ content }: { content: Content }) {
  const pick = (...keys: string[]) => {
    for (const k of keys) {
      const v = str(content[k]);
      if (v) return v;
    }
    return null;
  };
  const html = pick('html', 'html_body');
  const text = pick('text', 'text_body');
  const subject = pick('subject');
  const body = pick('body');
  const title = pick('title');
  const blocks = content.blocks ?? null;
  // Push: the data payload sent with the notification.
  const payload = content.payload ?? content.data ?? null;
  return (
    <>
      {subject ? <p><strong>Subject:</strong> {subject}</p> : null}
      {html ? (
        <div className="email-frame">
          {/* Untrusted HTML: a sandbox with no permissions (no scripts, no same-origin, no forms). */}
          <iframe title="Rendered email" sandbox="" srcDoc={html} className="email-iframe" />
        </div>
      ) : null}
      {text ? <><h3>Text</h3><pre className="code" tabIndex={0} role="region" aria-label="Text body">{text}</pre></> : null}
      {title ? <p><strong>Title:</strong> {title}</p> : null}
      {body ? <><h3>Body</h3><pre className="code" tabIndex={0} role="region" aria-label="Message body">{body}</pre></> : null}
      {payload != null ? <><h3>Payload</h3><Json value={payload} label="Payload" /></> : null}
      {blocks != null ? <><h3>Blocks</h3><Json value={blocks} label="Blocks" /></> : null}
      {!html && !text && !body && payload == null && blocks == null ? <Json value={content.raw ?? content} label="Content" /> : null}
    </>
  );
}

export function MessagePage() {
  const id = useParams().id!;
  const detail = useQuery({
    queryKey: ['message', id],
    queryFn: ({ signal }) => api<MessageDetail>(`/dashboard/api/messages/${encodeURIComponent(id)}`, { signal }),
  });
  if (detail.isPending) return <Loading />;
  if (detail.isError) return <><PageHeader title="Message" /><ErrorNote error={detail.error} /></>;
  const { message: m, content, events = [], delivery_logs: logs = [] } = detail.data;
  return (
    <>
      <PageHeader title={<>Message <code>{m.id}</code></>} subtitle={<Badge value={m.status} />} />
      <Fields items={[
        ['Channel', m.channel_key ?? m.channel_type ?? m.channel_id ?? null],
        ['Workflow', messageWorkflow(m)],
        ['Run', detail.data.run_id ? <Link to={`/runs/${encodeURIComponent(detail.data.run_id)}`}><code>{detail.data.run_id}</code></Link> : null],
        ['Provider', typeof m.provider === 'string' ? m.provider : null],
        ['Recipient', <RecipientLink recipient={m.recipient} />],
        ['Tenant', m.tenant ?? null],
        ['Created', <Time at={m.inserted_at} />],
        ['Engagement', m.engagement_statuses?.length ? m.engagement_statuses.join(', ') : null],
      ]} />
      <Section title="Content" id="content">
        {content ? <RenderedContent content={content} /> : <p className="muted">No content recorded.</p>}
      </Section>
      <Section title="Events">
        {events.length === 0 ? <p className="muted">No events.</p> : (
          <ol className="plain-list events">
            {events.map((e, i) => (
              <li key={e.id ?? i} data-event={e.type}>
                <Badge value={e.type.replace(/^message\./, '')} /> <Time at={e.inserted_at} />
                {e.data ? <details><summary>Data</summary><Json value={e.data} label={`Data of ${e.type}`} /></details> : null}
              </li>
            ))}
          </ol>
        )}
      </Section>
      <Section title="Delivery log" id="delivery-log">
        {logs.length === 0 ? <p className="muted">No delivery attempts recorded.</p> : (
          <ol className="plain-list delivery-logs">
            {logs.map((l, i) => (
              <li key={l.id ?? i} className="delivery-log" data-testid="delivery-log">
                <div className="row-line"><strong>Attempt {l.attempt ?? i + 1}</strong>{l.provider ? <span className="muted">{l.provider}</span> : null} <Time at={l.inserted_at} /></div>
                <div className="grid-2">
                  <div><h4>Request</h4><Json value={l.request} label={`Request of attempt ${i + 1}`} /></div>
                  <div><h4>Response</h4><Json value={l.response} label={`Response of attempt ${i + 1}`} /></div>
                </div>
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}
