import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { WorkflowSummary } from '../types';
import { Badge, Empty, ErrorNote, Loading, PageHeader, Time } from '../components/ui';

export function WorkflowsPage() {
  const list = useQuery({
    queryKey: ['workflows'],
    queryFn: ({ signal }) => api<{ items: WorkflowSummary[] }>('/dashboard/api/workflows', { signal }),
  });
  return (
    <>
      <PageHeader title="Workflows" subtitle="What Herald runs when you trigger a key" />
      {list.isPending ? <Loading /> : list.isError ? <ErrorNote error={list.error} /> : list.data.items.length === 0 ? (
        <Empty title="No workflows yet">
          <p>
            A workflow is a folder under <code>workflows/</code> with a <code>workflow.json</code> (knock-cli's layout), or one pushed
            through the management API (<code>knock workflow push</code>). Herald loads the folder on start.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Categories</th><th scope="col">Steps</th><th scope="col">Last triggered</th></tr>
            </thead>
            <tbody>
              {list.data.items.map((w) => (
                <tr key={w.key} data-workflow={w.key}>
                  <td>
                    <Link to={`/workflows/${encodeURIComponent(w.key)}`}><strong>{w.name || w.key}</strong></Link>
                    {w.name && w.name !== w.key ? <div className="muted small"><code>{w.key}</code></div> : null}
                  </td>
                  <td><Badge value={w.active ? 'active' : 'inactive'} /></td>
                  <td>{w.categories?.length ? w.categories.join(', ') : <span className="muted">—</span>}</td>
                  <td className="small">{w.steps.map((s) => (s.type === 'channel' && s.channel_key ? s.channel_key : s.type)).join(' → ') || '—'}</td>
                  <td><Time at={w.last_triggered_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
