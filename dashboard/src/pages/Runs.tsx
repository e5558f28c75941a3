import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { Paged, Run } from '../types';
import { rows } from '../types';
import { Badge, Empty, ErrorNote, Loading, PageHeader, Pager, RecipientLink, Time, TriggerCurl } from '../components/ui';
import { FilterForm, isoFromLocal, useFilters, type FilterField } from '../components/Filters';

const FIELDS: FilterField[] = [
  { name: 'workflow', label: 'Workflow' },
  { name: 'recipient', label: 'Recipient', placeholder: 'user id' },
  { name: 'tenant', label: 'Tenant' },
  { name: 'status', label: 'Status', type: 'select', options: ['queued', 'processing', 'paused', 'completed', 'cancelled'] },
  { name: 'cancellation_key', label: 'Cancellation key' },
  { name: 'from', label: 'From', type: 'datetime-local' },
  { name: 'to', label: 'To', type: 'datetime-local' },
];

export function RunsPage() {
  const { values, after, apply, page } = useFilters(FIELDS);
  const query = { ...values, from: isoFromLocal(values.from), to: isoFromLocal(values.to), after, page_size: 50 };
  const runs = useQuery({
    queryKey: ['runs', query],
    queryFn: ({ signal }) => api<Paged<Run>>('/dashboard/api/runs', { query, signal }),
  });
  const filtered = Object.values(values).some(Boolean);
  const list = rows(runs.data);
  return (
    <>
      <PageHeader title="Runs" subtitle="One run per recipient of each trigger, newest first" />
      <FilterForm fields={FIELDS} values={values} onApply={apply} label="Filter runs" />
      {runs.isPending ? <Loading /> : runs.isError ? <ErrorNote error={runs.error} /> : list.length === 0 ? (
        filtered ? <Empty title="No runs match these filters"><p>Clear a filter or widen the time range.</p></Empty> : (
          <Empty title="No runs yet">
            <p>Each trigger creates one run per recipient. Trigger a workflow from its <Link to="/workflows">page</Link>, or:</p>
            <TriggerCurl />
          </Empty>
        )
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Runs">
            <thead>
              <tr><th scope="col">Run</th><th scope="col">Workflow</th><th scope="col">Recipient</th><th scope="col">Tenant</th><th scope="col">Status</th><th scope="col">Cancellation key</th><th scope="col">Started</th></tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} data-run-id={r.id} data-status={r.status}>
                  <td><Link to={`/runs/${encodeURIComponent(r.id)}`}><code>{r.id.slice(0, 14)}</code></Link></td>
                  <td><Link to={`/workflows/${encodeURIComponent(r.workflow)}`}>{r.workflow}</Link></td>
                  <td><RecipientLink recipient={r.recipient} /></td>
                  <td>{r.tenant ?? <span className="muted">—</span>}</td>
                  <td><Badge value={r.status} />{r.halt_reason || r.halted_reason ? <div className="small muted">{r.halt_reason ?? r.halted_reason}</div> : null}</td>
                  <td>{r.cancellation_key ? <code>{r.cancellation_key}</code> : <span className="muted">—</span>}</td>
                  <td><Time at={r.inserted_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager after={runs.data?.page_info?.after} isFirst={!after} onNext={page} onFirst={() => page('')} />
    </>
  );
}
