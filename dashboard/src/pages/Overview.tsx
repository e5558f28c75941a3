import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '../api';
import type { Overview } from '../types';
import { Badge, Empty, ErrorNote, Loading, PageHeader, Section, Time, TriggerCurl } from '../components/ui';

const OVERVIEW_KEY = ['overview'] as const;

/** Keeps the overview's cache fresh from the SSE stream (an `overview` event every 5 s). */
function useOverviewStream(): 'connecting' | 'live' | 'offline' {
  const client = useQueryClient();
  const [state, setState] = useState<'connecting' | 'live' | 'offline'>('connecting');
  useEffect(() => {
    const source = new EventSource('/dashboard/api/overview/stream');
    source.addEventListener('overview', (e) => {
      try {
        client.setQueryData(OVERVIEW_KEY, JSON.parse((e as MessageEvent<string>).data) as Overview);
        setState('live');
      } catch {
        // A malformed event is dropped; the next one replaces it.
      }
    });
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
    return () => source.close();
  }, [client]);
  return state;
}

const minuteLabel = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

function Stat({ label, value, hint }: { label: string; value: string | number; hint?: string }) {
  return (
    <div className="stat" data-stat={label} data-value={value}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
      {hint ? <div className="stat-hint muted">{hint}</div> : null}
    </div>
  );
}

const duration = (ms: number | null | undefined) => {
  if (ms == null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
};

/** Deliveries per channel type/provider, one stacked bar per pair, a segment per status. */
function deliveriesChart(rows: Overview['deliveries_last_hour']) {
  const statuses = [...new Set(rows.map((r) => r.status))];
  const byPair = new Map<string, Record<string, number | string>>();
  for (const r of rows) {
    const name = `${r.channel_type} · ${r.provider}`;
    const entry = byPair.get(name) ?? { name };
    entry[r.status] = ((entry[r.status] as number | undefined) ?? 0) + r.count;
    byPair.set(name, entry);
  }
  return { statuses, data: [...byPair.values()] };
}

const STATUS_COLORS: Record<string, string> = {
  delivered: 'var(--green)', sent: 'var(--blue)', delivery_attempted: 'var(--violet)', undelivered: 'var(--red)', bounced: 'var(--red)', not_sent: 'var(--amber)', queued: 'var(--gray)',
};

export default function OverviewPage() {
  const live = useOverviewStream();
  const overview = useQuery({
    queryKey: OVERVIEW_KEY,
    queryFn: ({ signal }) => api<Overview>('/dashboard/api/overview', { signal }),
  });

  const header = (
    <PageHeader title="Overview" subtitle="The last hour of this environment">
      <span className={`live live-${live}`} role="status">{live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Not live (reload to retry)'}</span>
    </PageHeader>
  );
  if (overview.isPending) return <>{header}<Loading /></>;
  if (overview.isError) return <>{header}<ErrorNote error={overview.error} /></>;
  const o = overview.data;
  const triggers = o.triggers_per_minute.map((p) => ({ minute: minuteLabel(p.minute), count: p.count }));
  const totalTriggers = o.triggers_per_minute.reduce((n, p) => n + p.count, 0);
  const deliveries = deliveriesChart(o.deliveries_last_hour);
  const failures = o.failures_last_hour.reduce((n, f) => n + f.count, 0);

  return (
    <>
      {header}
      <div className="stats" aria-label="Runs now">
        <Stat label="Triggers, last hour" value={totalTriggers} />
        <Stat label="Runs due" value={o.runs.due} hint={o.runs.due > 0 ? `oldest waiting ${duration(o.runs.oldest_due_age_ms)}` : undefined} />
        <Stat label="Queued · processing" value={`${o.runs.queued} · ${o.runs.processing}`} />
        <Stat label="Paused (delays, batches)" value={o.runs.paused} />
        <Stat label="Failures, last hour" value={failures} />
      </div>

      {totalTriggers === 0 && o.deliveries_last_hour.length === 0 ? (
        <Empty title="Nothing has happened in the last hour">
          <p>Trigger a workflow to see it here — from a <Link to="/workflows">workflow's page</Link> (test trigger), or with curl:</p>
          <TriggerCurl />
        </Empty>
      ) : null}

      <div className="grid-2">
        <Section title="Triggers per minute">
          <div className="chart" role="img" aria-label={`Triggers per minute over the last hour, ${totalTriggers} in total`}>
            <ResponsiveContainer width="100%" height={200}>
              <BarChart data={triggers} margin={{ top: 8, right: 8, left: -16, bottom: 0 }}>
                <CartesianGrid stroke="var(--border)" vertical={false} />
                <XAxis dataKey="minute" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={24} />
                <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
                <Tooltip />
                <Bar dataKey="count" name="triggers" fill="var(--accent)" maxBarSize={14} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </Section>
        <Section title="Deliveries per channel and provider">
          {deliveries.data.length === 0 ? <p className="muted">No messages in the last hour.</p> : (
            <div className="chart" role="img" aria-label="Deliveries per channel and provider in the last hour, by status">
              <ResponsiveContainer width="100%" height={200}>
                <BarChart data={deliveries.data} layout="vertical" margin={{ top: 8, right: 8, left: 8, bottom: 0 }}>
                  <CartesianGrid stroke="var(--border)" horizontal={false} />
                  <XAxis type="number" allowDecimals={false} tick={{ fontSize: 11 }} />
                  <YAxis type="category" dataKey="name" width={130} tick={{ fontSize: 11 }} />
                  <Tooltip />
                  <Legend wrapperStyle={{ fontSize: 12 }} />
                  {deliveries.statuses.map((s) => (
                    <Bar key={s} dataKey={s} stackId="s" fill={STATUS_COLORS[s] ?? 'var(--gray)'} maxBarSize={28} isAnimationActive={false} />
                  ))}
                </BarChart>
              </ResponsiveContainer>
            </div>
          )}
        </Section>
      </div>

      <div className="grid-2">
        <Section title="Circuit breakers">
          {o.circuits.length === 0 ? <p className="muted">No circuit has opened: every provider is taking messages.</p> : (
            <table className="table">
              <thead><tr><th scope="col">Channel</th><th scope="col">Provider</th><th scope="col">State</th><th scope="col">Opened</th></tr></thead>
              <tbody>
                {o.circuits.map((c) => (
                  <tr key={`${c.channel_key}-${c.provider}`}>
                    <td>{c.channel_key}</td><td>{c.provider}</td><td><Badge value={c.state} /></td><td><Time at={c.opened_at} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title="Failures in the last hour">
          {o.failures_last_hour.length === 0 ? <p className="muted">No failures. </p> : (
            <table className="table">
              <thead><tr><th scope="col">Kind</th><th scope="col">Where</th><th scope="col">Reason</th><th scope="col">Count</th><th scope="col">Last</th></tr></thead>
              <tbody>
                {o.failures_last_hour.map((f, i) => (
                  <tr key={i}>
                    <td>{f.kind}</td>
                    <td>{[f.workflow, f.channel_key].filter(Boolean).join(' · ') || '—'}</td>
                    <td>{f.reason}</td>
                    <td>{f.count}</td>
                    <td><Time at={f.last_at} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
      <p className="muted small">Updated <Time at={o.generated_at} /></p>
    </>
  );
}
