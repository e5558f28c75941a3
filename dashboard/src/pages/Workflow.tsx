import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import { useEnvironment } from '../session';
import type { WorkflowDetail } from '../types';
import { Badge, ErrorNote, Fields, Json, Loading, PageHeader, Section, Time } from '../components/ui';
import { Flow } from '../components/Flow';
import { TriggerForm } from '../components/TriggerForm';

export function WorkflowPage() {
  const key = useParams().key!;
  const environment = useEnvironment();
  const client = useQueryClient();
  const workflow = useQuery({
    queryKey: ['workflow', key],
    queryFn: ({ signal }) => api<WorkflowDetail | { workflow: WorkflowDetail }>(`/dashboard/api/workflows/${encodeURIComponent(key)}`, { signal })
      .then((w) => ('workflow' in w && w.workflow ? w.workflow : w as WorkflowDetail)),
  });
  const activate = useMutation({
    mutationFn: (status: boolean) => api(`/mgmt/v1/workflows/${encodeURIComponent(key)}/activate`, { method: 'PUT', query: { environment }, body: { status } }),
    onSuccess: () => Promise.all([
      client.invalidateQueries({ queryKey: ['workflow', key] }),
      client.invalidateQueries({ queryKey: ['workflows'] }),
    ]),
  });

  if (workflow.isPending) return <Loading />;
  if (workflow.isError) return <><PageHeader title={key} /><ErrorNote error={workflow.error} /></>;
  const w = workflow.data;
  return (
    <>
      <PageHeader title={w.name || w.key} subtitle={<><code>{w.key}</code> · <Badge value={w.active ? 'active' : 'inactive'} /></>}>
        <Link className="btn" to={`/runs?workflow=${encodeURIComponent(w.key)}`}>Runs</Link>
        <button type="button" className="btn" disabled={activate.isPending} onClick={() => activate.mutate(!w.active)}>
          {w.active ? 'Deactivate' : 'Activate'}
        </button>
      </PageHeader>
      {activate.isError ? <p className="note note-error" role="alert">{errorMessage(activate.error)}</p> : null}
      <Fields items={[
        ['Categories', w.categories?.length ? w.categories.join(', ') : null],
        ['Last triggered', <Time at={w.last_triggered_at} />],
        ['Steps', String(w.steps.length)],
      ]} />
      <div className="grid-2 grid-wide-left">
        <Section title="Steps">
          <Flow steps={w.steps} label={`Steps of ${w.key}`} />
        </Section>
        <div>
          <Section title="Trigger-data schema">
            {w.trigger_data_schema ? <Json value={w.trigger_data_schema} label="Trigger-data schema" /> : <p className="muted">No schema: any data is accepted.</p>}
          </Section>
          <Section title="Versions">
            {!w.versions || w.versions.length === 0 ? <p className="muted">No committed versions.</p> : (
              <ol className="plain-list versions">
                {w.versions.map((v, i) => (
                  <li key={String(v.sha ?? v.version ?? i)}>
                    <code>{String(v.sha ?? v.version ?? '').slice(0, 12)}</code> <Time at={v.created_at} />
                    {typeof v.message === 'string' && v.message ? <span className="muted"> — {v.message}</span> : null}
                  </li>
                ))}
              </ol>
            )}
          </Section>
        </div>
      </div>
      <Section title="Test trigger" id="test-trigger">
        <p className="muted">Triggers this workflow in <strong>{environment}</strong> through <code>POST /v1/workflows/{w.key}/trigger</code> and follows the run.</p>
        <TriggerForm workflowKey={w.key} schema={w.trigger_data_schema} />
      </Section>
    </>
  );
}
