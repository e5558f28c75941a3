import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { Channel, Paged } from '../types';
import { rows } from '../types';
import { Badge, Empty, ErrorNote, Json, Loading, PageHeader, Time } from '../components/ui';

export function ChannelsPage() {
  const channels = useQuery({ queryKey: ['channels'], queryFn: ({ signal }) => api<Paged<Channel>>('/dashboard/api/channels', { signal }) });
  const list = rows(channels.data);
  return (
    <>
      <PageHeader title="Channels and providers" subtitle="Configuration without secrets, and each provider's circuit breaker" />
      {channels.isPending ? <Loading /> : channels.isError ? <ErrorNote error={channels.error} /> : list.length === 0 ? (
        <Empty title="No channels configured"><p>Channels come from <code>HERALD_CHANNELS</code> (see the README's configuration section); the in-app feed is built in.</p></Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Channels">
            <thead><tr><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">Provider</th><th scope="col">Circuit</th><th scope="col">Settings</th></tr></thead>
            <tbody>
              {list.map((c) => {
                const state = c.circuit?.state ?? c.circuit_state ?? null;
                return (
                  <tr key={c.key}>
                    <td><strong>{c.name || c.key}</strong>{c.name && c.name !== c.key ? <div className="small muted"><code>{c.key}</code></div> : null}</td>
                    <td>{c.type ?? c.channel_type ?? '—'}</td>
                    <td>{c.provider}</td>
                    <td>{state ? <><Badge value={state} />{c.circuit?.opened_at ? <div className="small muted">since <Time at={c.circuit.opened_at} /></div> : null}</> : <span className="muted">—</span>}</td>
                    <td>{c.settings && Object.keys(c.settings).length ? <Json value={c.settings} label={`Settings of ${c.key}`} /> : <span className="muted">—</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
