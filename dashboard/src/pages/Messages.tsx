import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { MessageSummary, Paged } from '../types';
import { rows } from '../types';
import { Badge, Empty, ErrorNote, Loading, PageHeader, Pager, RecipientLink, Time, TriggerCurl } from '../components/ui';
import { FilterForm, useFilters, type FilterField } from '../components/Filters';

const FIELDS: FilterField[] = [
  { name: 'channel_type', label: 'Channel', type: 'select', options: ['email', 'sms', 'push', 'chat', 'in_app_feed', 'http'] },
  { name: 'status', label: 'Status', type: 'select', options: ['queued', 'sent', 'delivered', 'delivery_attempted', 'undelivered', 'not_sent', 'bounced'] },
  { name: 'recipient', label: 'Recipient', placeholder: 'user id' },
  { name: 'workflow', label: 'Workflow' },
  { name: 'tenant', label: 'Tenant' },
];

export const messageWorkflow = (m: MessageSummary) => m.workflow ?? m.source?.key ?? m.source?.workflow ?? null;

export function MessagesPage() {
  const { values, after, apply, page } = useFilters(FIELDS);
  const query = { ...values, after, page_size: 50 };
  const messages = useQuery({
    queryKey: ['messages', query],
    queryFn: ({ signal }) => api<Paged<MessageSummary>>('/dashboard/api/messages', { query, signal }),
  });
  const list = rows(messages.data);
  const filtered = Object.values(values).some(Boolean);
  return (
    <>
      <PageHeader title="Messages" subtitle="Every notification a channel step created, newest first" />
      <FilterForm fields={FIELDS} values={values} onApply={apply} label="Filter messages" />
      {messages.isPending ? <Loading /> : messages.isError ? <ErrorNote error={messages.error} /> : list.length === 0 ? (
        filtered ? <Empty title="No messages match these filters"><p>Clear a filter to see more.</p></Empty> : (
          <Empty title="No messages yet">
            <p>A channel step of a workflow creates a message for each recipient it sends to. Trigger a workflow to create one:</p>
            <TriggerCurl />
          </Empty>
        )
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Messages">
            <thead>
              <tr><th scope="col">Message</th><th scope="col">Channel</th><th scope="col">Workflow</th><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Created</th></tr>
            </thead>
            <tbody>
              {list.map((m) => (
                <tr key={m.id} data-message-id={m.id}>
                  <td><Link to={`/messages/${encodeURIComponent(m.id)}`}><code>{m.id.slice(0, 14)}</code></Link></td>
                  <td>{m.channel_key ?? m.channel_type ?? '—'}{m.channel_key && m.channel_type ? <div className="small muted">{m.channel_type}</div> : null}</td>
                  <td>{messageWorkflow(m) ?? <span className="muted">—</span>}</td>
                  <td><RecipientLink recipient={m.recipient} /></td>
                  <td><Badge value={m.status} /></td>
                  <td><Time at={m.inserted_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager after={messages.data?.page_info?.after} isFirst={!after} onNext={page} onFirst={() => page('')} />
    </>
  );
}

export function MessageLink({ id }: { id: string }) {
  return <Link to={`/messages/${encodeURIComponent(id)}`}><code>{id}</code></Link>;
}
