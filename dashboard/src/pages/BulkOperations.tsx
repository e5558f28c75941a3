import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { Badge, ErrorNote, Fields, Json, Loading, PageHeader, Section, Time } from '../components/ui';
import { LookupForm, useLookup } from '../components/LookupForm';

interface BulkOperation {
  id: string; name: string; status: string; estimated_total_rows?: number; processed_rows?: number; success_count?: number; error_count?: number;
  error_items?: unknown[]; inserted_at?: string; completed_at?: string | null; failed_at?: string | null; progress_path?: string;
}

export function BulkOperationsPage() {
  const [id, setId] = useLookup('id');
  const op = useQuery({
    queryKey: ['bulk-operation', id],
    enabled: id !== '',
    queryFn: ({ signal }) => api<BulkOperation>(`/v1/bulk_operations/${encodeURIComponent(id)}`, { signal }),
    refetchInterval: (q) => (q.state.data && ['queued', 'processing'].includes(q.state.data.status) ? 2000 : false),
  });
  return (
    <>
      <PageHeader title="Bulk operations" subtitle="Progress of bulk identify, delete, subscribe and schedule calls" />
      <LookupForm key={id} name="id" label="Bulk operation id" value={id} onSubmit={setId} placeholder="the id a bulk call answered" />
      {id === '' ? (
        <p className="muted">
          Every <code>…/bulk/…</code> call answers a bulk operation with its <code>id</code>; paste it here to follow its progress and see its errors.
        </p>
      ) : op.isPending ? <Loading /> : op.isError ? <ErrorNote error={op.error} /> : (
        <Section title={op.data.name}>
          <Fields items={[
            ['Status', <Badge value={op.data.status} />],
            ['Rows', `${op.data.processed_rows ?? 0} of ${op.data.estimated_total_rows ?? '?'} processed`],
            ['Succeeded', String(op.data.success_count ?? 0)],
            ['Errors', String(op.data.error_count ?? 0)],
            ['Started', <Time at={op.data.inserted_at} />],
            ['Finished', <Time at={op.data.completed_at ?? op.data.failed_at} />],
          ]} />
          {op.data.error_items?.length ? <Json value={op.data.error_items} label="Errors" /> : null}
        </Section>
      )}
    </>
  );
}
