import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import type { RunDetail } from '../types';
import { Badge, ErrorNote, Fields, Loading, PageHeader, RecipientLink, Time } from '../components/ui';
import { RunDetails } from '../components/Timeline';

const CANCELLABLE = new Set(['queued', 'paused']);
const FINISHED = new Set(['completed', 'cancelled']);

export function RunPage() {
  const id = useParams().id!;
  const client = useQueryClient();
  const detail = useQuery({
    queryKey: ['run', id],
    queryFn: ({ signal }) => api<RunDetail>(`/dashboard/api/runs/${encodeURIComponent(id)}`, { signal }),
    // A run still going is followed live.
    refetchInterval: (q) => (q.state.data && FINISHED.has(q.state.data.run.status) ? false : 2000),
  });
  const refresh = () => Promise.all([client.invalidateQueries({ queryKey: ['run'] }), client.invalidateQueries({ queryKey: ['runs'] })]);
  const cancelRun = useMutation({
    mutationFn: () => api(`/dashboard/api/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    onSuccess: refresh,
  });
  const cancelKey = useMutation({
    mutationFn: ({ workflow, key }: { workflow: string; key: string }) =>
      api(`/v1/workflows/${encodeURIComponent(workflow)}/cancel`, { method: 'POST', body: { cancellation_key: key } }),
    onSuccess: refresh,
  });

  if (detail.isPending) return <Loading />;
  if (detail.isError) return <><PageHeader title="Run" /><ErrorNote error={detail.error} /></>;
  const { run } = detail.data;
  const key = run.cancellation_key ?? null;
  const confirmKey = () => {
    if (key && window.confirm(`Cancel every run of ${run.workflow} with cancellation key "${key}" that has not finished?`)) {
      cancelKey.mutate({ workflow: run.workflow, key });
    }
  };
  return (
    <>
      <PageHeader title={<>Run <code>{run.id}</code></>} subtitle={<><Link to={`/workflows/${encodeURIComponent(run.workflow)}`}>{run.workflow}</Link> · <Badge value={run.status} /></>}>
        {CANCELLABLE.has(run.status) ? (
          <button type="button" className="btn btn-danger" disabled={cancelRun.isPending} onClick={() => cancelRun.mutate()}>
            Cancel this run
          </button>
        ) : null}
        {key ? (
          <button type="button" className="btn btn-danger" disabled={cancelKey.isPending} onClick={confirmKey}>
            Cancel all runs of key “{key}”
          </button>
        ) : null}
      </PageHeader>
      {cancelRun.isError ? <p className="note note-error" role="alert">{errorMessage(cancelRun.error)}</p> : null}
      {cancelKey.isError ? <p className="note note-error" role="alert">{errorMessage(cancelKey.error)}</p> : null}
      {cancelKey.isSuccess ? <p className="note note-ok" role="status">Every unfinished run with key “{key}” was cancelled.</p> : null}
      <Fields items={[
        ['Status', <span data-testid="run-status" data-status={run.status}><Badge value={run.status} /></span>],
        ['Recipient', <RecipientLink recipient={run.recipient} />],
        ['Actor', <RecipientLink recipient={run.actor ?? null} />],
        ['Tenant', run.tenant ?? null],
        ['Cancellation key', key ? <Link to={`/runs?cancellation_key=${encodeURIComponent(key)}`}><code>{key}</code></Link> : null],
        ['Trigger', run.workflow_run_id ? <code>{run.workflow_run_id}</code> : null],
        ['Started', <Time at={run.inserted_at} />],
        ['Updated', <Time at={run.updated_at} />],
        ...(run.halt_reason || run.halted_reason ? [['Halted', String(run.halt_reason ?? run.halted_reason)] as [string, string]] : []),
      ]} />
      <RunDetails detail={detail.data} />
    </>
  );
}
