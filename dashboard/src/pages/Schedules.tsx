import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { Paged, Recipient, WorkflowSummary } from '../types';
import { rows } from '../types';
import { Empty, ErrorNote, Json, Loading, PageHeader, RecipientLink, Time } from '../components/ui';
import { useLookup } from '../components/LookupForm';

interface Schedule { id: string; workflow: string; recipient: Recipient; repeats?: unknown[]; next_occurrence_at?: string | null; last_occurrence_at?: string | null; tenant?: string | null; data?: unknown; inserted_at?: string }

export function SchedulesPage() {
  const [workflow, setWorkflow] = useLookup('workflow');
  const workflows = useQuery({ queryKey: ['workflows'], queryFn: ({ signal }) => api<{ items: WorkflowSummary[] }>('/dashboard/api/workflows', { signal }) });
  const schedules = useQuery({
    queryKey: ['schedules', workflow],
    enabled: workflow !== '',
    queryFn: ({ signal }) => api<Paged<Schedule>>('/v1/schedules', { query: { workflow, page_size: 50 }, signal }),
  });
  const list = rows(schedules.data);
  return (
    <>
      <PageHeader title="Schedules" subtitle="Recurring or one-off triggers, per recipient" />
      <form className="filters" role="search" aria-label="Schedules of a workflow" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Workflow</span>
          <select name="workflow" value={workflow} onChange={(e) => setWorkflow(e.target.value)}>
            <option value="">Choose a workflow…</option>
            {(workflows.data?.items ?? []).map((w) => <option key={w.key} value={w.key}>{w.key}</option>)}
          </select>
        </label>
      </form>
      {workflows.isError ? <ErrorNote error={workflows.error} /> : null}
      {workflow === '' ? <p className="muted">Schedules are listed per workflow: choose one.</p>
        : schedules.isPending ? <Loading /> : schedules.isError ? <ErrorNote error={schedules.error} />
          : list.length === 0 ? (
            <Empty title={`No schedules for ${workflow}`}>
              <p>Create one with <code>POST /v1/schedules</code> (<code>knock.schedules.create</code>): a workflow, recipients and <code>repeats</code> rules or a <code>scheduled_at</code>.</p>
            </Empty>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label={`Schedules of ${workflow}`}>
                <thead><tr><th scope="col">Schedule</th><th scope="col">Recipient</th><th scope="col">Tenant</th><th scope="col">Repeats</th><th scope="col">Next</th><th scope="col">Last</th></tr></thead>
                <tbody>
                  {list.map((s) => (
                    <tr key={s.id}>
                      <td><code>{s.id.slice(0, 14)}</code></td>
                      <td><RecipientLink recipient={s.recipient} /></td>
                      <td>{s.tenant ?? <span className="muted">—</span>}</td>
                      <td>{s.repeats?.length ? <Json value={s.repeats} label={`Repeat rules of ${s.id}`} /> : 'once'}</td>
                      <td><Time at={s.next_occurrence_at} /></td>
                      <td><Time at={s.last_occurrence_at} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
    </>
  );
}
