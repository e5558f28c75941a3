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
                const circuits = c.circuits ?? [];
                return (
                  <tr key={c.key}>
                    <td><strong>{c.name || c.key}</strong>{c.name && c.name !== c.key ? <div className="small muted"><code>{c.key}</code></div> : null}</td>
                    <td>{c.type ?? c.channel_type ?? '—'}</td>
                    <td>{c.provider}{c.fallbacks?.length ? <div className="small muted">then {c.fallbacks.map((f) => f.provider).join(', ')}</div> : null}</td>
                    <td>
                      {circuits.length === 0 ? <span className="muted">—</span> : circuits.map((k) => (
                        <div key={k.provider} className="row-line small" data-provider={k.provider}>
                          {circuits.length > 1 ? <span>{k.provider}</span> : null}
                          <Badge value={k.state} />
                          {k.opened_at ? <span className="muted">since <Time at={k.opened_at} /></span> : null}
                          {k.consecutive_failures ? <span className="muted">{k.consecutive_failures} failures in a row</span> : null}
                        </div>
                      ))}
                    </td>
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
