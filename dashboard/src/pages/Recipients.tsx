import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { ApiError, api } from '../api';
import type { Channel, MessageSummary, Paged, Recipient, Run } from '../types';
import { recipientPath, rows } from '../types';
import { Badge, Empty, ErrorNote, Json, Loading, PageHeader, Section, Time } from '../components/ui';
import { ExplainBox } from '../components/Explain';

interface Entity { id: string; name?: string | null; email?: string | null; properties?: Record<string, unknown>; created_at?: string | null; updated_at?: string; [k: string]: unknown }

const TABS = [['users', 'Users'], ['objects', 'Objects'], ['tenants', 'Tenants']] as const;
type Tab = (typeof TABS)[number][0];

/** A 404 is an answer ("none"), not an error. */
const orNull = <T,>(p: Promise<T>): Promise<T | null> => p.catch((e) => { if (e instanceof ApiError && e.status === 404) return null; throw e; });

function EntityTable({ entries, hrefOf, label }: { entries: Entity[]; hrefOf: (e: Entity) => string; label: string }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Updated</th></tr></thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td><Link to={hrefOf(e)}><code>{e.id}</code></Link></td>
              <td>{e.name ?? <span className="muted">—</span>}</td>
              <td>{e.email ?? <span className="muted">—</span>}</td>
              <td><Time at={e.updated_at} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function UsersTab() {
  const users = useQuery({ queryKey: ['users'], queryFn: ({ signal }) => api<Paged<Entity>>('/v1/users', { query: { page_size: 50 }, signal }) });
  if (users.isPending) return <Loading />;
  if (users.isError) return <ErrorNote error={users.error} />;
  const list = rows(users.data);
  if (list.length === 0) {
    return (
      <Empty title="No users yet">
        <p>Users are created by identifying them (<code>PUT /v1/users/:id</code>, <code>knock.users.update</code>) or inline in a trigger's recipients.</p>
      </Empty>
    );
  }
  return <EntityTable entries={list} label="Users" hrefOf={(e) => recipientPath(e.id)} />;
}

function ObjectsTab() {
  const [params, setParams] = useSearchParams();
  const collection = params.get('collection') ?? '';
  const [draft, setDraft] = useState(collection);
  const objects = useQuery({
    queryKey: ['objects', collection],
    enabled: collection !== '',
    queryFn: ({ signal }) => api<Paged<Entity>>(`/v1/objects/${encodeURIComponent(collection)}`, { query: { page_size: 50 }, signal }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ tab: 'objects', collection: draft.trim() });
  };
  const list = rows(objects.data);
  return (
    <>
      <form className="filters" role="search" aria-label="Objects of a collection" onSubmit={submit}>
        <label className="field"><span>Collection</span><input name="collection" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="projects" /></label>
        <div className="filter-actions"><button type="submit" className="btn btn-primary">Show</button></div>
      </form>
      {collection === '' ? <p className="muted">Objects live in collections (<code>PUT /v1/objects/:collection/:id</code>); name one to list its objects.</p>
        : objects.isPending ? <Loading /> : objects.isError ? <ErrorNote error={objects.error} />
          : list.length === 0 ? <Empty title={`No objects in “${collection}”`} />
            : <EntityTable entries={list} label={`Objects in ${collection}`} hrefOf={(e) => recipientPath({ collection, id: e.id })} />}
    </>
  );
}

function TenantsTab() {
  const tenants = useQuery({ queryKey: ['tenants'], queryFn: ({ signal }) => api<Paged<Entity>>('/v1/tenants', { query: { page_size: 50 }, signal }) });
  if (tenants.isPending) return <Loading />;
  if (tenants.isError) return <ErrorNote error={tenants.error} />;
  const list = rows(tenants.data);
  if (list.length === 0) return <Empty title="No tenants yet"><p>Create one with <code>PUT /v1/tenants/:id</code>, or pass <code>tenant</code> in a trigger.</p></Empty>;
  return <EntityTable entries={list} label="Tenants" hrefOf={(e) => recipientPath({ collection: '$tenants', id: e.id })} />;
}

export function RecipientsPage() {
  const [params, setParams] = useSearchParams();
  const tab = (TABS.some(([t]) => t === params.get('tab')) ? params.get('tab') : 'users') as Tab;
  const navigate = useNavigate();
  const [userId, setUserId] = useState('');
  return (
    <>
      <PageHeader title="Recipients" subtitle="Users, objects and tenants">
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); if (userId.trim()) navigate(recipientPath(userId.trim())); }}>
          <label><span className="visually-hidden">User id</span><input placeholder="Go to user id…" value={userId} onChange={(e) => setUserId(e.target.value)} aria-label="User id" /></label>
          <button type="submit" className="btn">Open</button>
        </form>
      </PageHeader>
      <div className="tabs" role="tablist" aria-label="Recipient kinds">
        {TABS.map(([t, label]) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' active' : ''}`} onClick={() => setParams({ tab: t })}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" aria-label={TABS.find(([t]) => t === tab)![1]}>
        {tab === 'users' ? <UsersTab /> : tab === 'objects' ? <ObjectsTab /> : <TenantsTab />}
      </div>
    </>
  );
}

/** Runs and messages of a recipient or tenant, newest first. */
function RecentActivity({ filter }: { filter: Record<string, string> }) {
  const runs = useQuery({ queryKey: ['runs', { ...filter, page_size: 10 }], queryFn: ({ signal }) => api<Paged<Run>>('/dashboard/api/runs', { query: { ...filter, page_size: 10 }, signal }) });
  const messages = useQuery({ queryKey: ['messages', { ...filter, page_size: 10 }], queryFn: ({ signal }) => api<Paged<MessageSummary>>('/dashboard/api/messages', { query: { ...filter, page_size: 10 }, signal }) });
  const qs = new URLSearchParams(filter).toString();
  return (
    <div className="grid-2">
      <Section title="Recent runs" actions={<Link to={`/runs?${qs}`}>All runs</Link>}>
        {runs.isPending ? <Loading /> : runs.isError ? <ErrorNote error={runs.error} /> : rows(runs.data).length === 0 ? <p className="muted">No runs.</p> : (
          <ul className="plain-list">
            {rows(runs.data).map((r) => (
              <li key={r.id} className="row-line"><Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.workflow}</Link> <Badge value={r.status} /> <Time at={r.inserted_at} /></li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Recent messages" actions={<Link to={`/messages?${qs}`}>All messages</Link>}>
        {messages.isPending ? <Loading /> : messages.isError ? <ErrorNote error={messages.error} /> : rows(messages.data).length === 0 ? <p className="muted">No messages.</p> : (
          <ul className="plain-list">
            {rows(messages.data).map((m) => (
              <li key={m.id} className="row-line"><Link to={`/messages/${encodeURIComponent(m.id)}`}>{m.channel_key ?? m.channel_type ?? m.id}</Link> <Badge value={m.status} /> <Time at={m.inserted_at} /></li>
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

/**
 * Channel data (push tokens, chat webhooks) of the push and chat channels, read on request: the
 * API has one read per channel, and a channel without data for this recipient answers 404.
 */
function ChannelData({ base }: { base: string }) {
  const [open, setOpen] = useState(false);
  const channels = useQuery({ queryKey: ['channels'], queryFn: ({ signal }) => api<Paged<Channel>>('/dashboard/api/channels', { signal }) });
  const withData = rows(channels.data).filter((c) => c.type === 'push' || c.type === 'chat');
  const data = useQuery({
    queryKey: ['channel-data', base, withData.map((c) => c.id ?? c.key)],
    enabled: open && withData.length > 0,
    queryFn: async ({ signal }) => {
      const found = await Promise.all(withData.map(async (c) => [c.key, await orNull(api<{ data?: unknown }>(`${base}/channel_data/${encodeURIComponent(c.id ?? c.key)}`, { signal }))] as const));
      return found.filter(([, d]) => d !== null);
    },
  });
  if (channels.isError) return <ErrorNote error={channels.error} />;
  if (withData.length === 0) return <p className="muted">No push or chat channel is configured: email and SMS use the recipient's properties.</p>;
  if (!open) return <button type="button" className="btn" onClick={() => setOpen(true)}>Show channel data ({withData.map((c) => c.key).join(', ')})</button>;
  if (data.isPending) return <Loading />;
  if (data.isError) return <ErrorNote error={data.error} />;
  if (data.data.length === 0) return <p className="muted">No channel data.</p>;
  return <ul className="plain-list">{data.data.map(([key, d]) => <li key={key}><strong>{key}</strong><Json value={d?.data ?? d} label={`Channel data for ${key}`} /></li>)}</ul>;
}

/** Properties, channel data, preferences, subscriptions, schedules, an explain box, recent activity. */
function RecipientDetail({ base, recipient, title }: { base: string; recipient: Recipient; title: string }) {
  const entity = useQuery({ queryKey: ['entity', base], queryFn: ({ signal }) => api<Entity>(base, { signal }) });
  const preferences = useQuery({ queryKey: ['preferences', base], queryFn: ({ signal }) => orNull(api<unknown[]>(`${base}/preferences`, { signal })) });
  const subscriptions = useQuery({ queryKey: ['subscriptions', base], queryFn: ({ signal }) => orNull(api<Paged<unknown>>(`${base}/subscriptions`, { signal })) });
  const schedules = useQuery({ queryKey: ['schedules', base], queryFn: ({ signal }) => orNull(api<Paged<unknown>>(`${base}/schedules`, { signal })) });

  if (entity.isPending) return <Loading />;
  if (entity.isError) return <><PageHeader title={title} /><ErrorNote error={entity.error} /></>;
  const e = entity.data;
  const filter: Record<string, string> = typeof recipient === 'string' ? { recipient } : recipient.collection === '$tenants' ? { tenant: recipient.id } : { recipient: JSON.stringify(recipient) };
  const { id: _id, __typename: _t, ...properties } = e;
  return (
    <>
      <PageHeader title={title} subtitle={e.name ? <span>{e.name}</span> : undefined} />
      <div className="grid-2">
        <Section title="Properties"><Json value={properties} label="Properties" /></Section>
        <Section title="Channel data"><ChannelData base={base} /></Section>
      </div>
      <div className="grid-2">
        <Section title="Preferences">
          {preferences.isError ? <ErrorNote error={preferences.error} /> : !preferences.data || preferences.data.length === 0 ? <p className="muted">No preference sets: the environment's defaults apply.</p> : <Json value={preferences.data} label="Preference sets" />}
        </Section>
        <Section title="Subscriptions">
          {subscriptions.isError ? <ErrorNote error={subscriptions.error} /> : rows(subscriptions.data ?? undefined).length === 0 ? <p className="muted">No subscriptions.</p> : <Json value={rows(subscriptions.data ?? undefined)} label="Subscriptions" />}
        </Section>
      </div>
      <Section title="Schedules">
        {schedules.isError ? <ErrorNote error={schedules.error} /> : rows(schedules.data ?? undefined).length === 0 ? <p className="muted">No schedules.</p> : <Json value={rows(schedules.data ?? undefined)} label="Schedules" />}
      </Section>
      {typeof recipient === 'string' || recipient.collection !== '$tenants' ? (
        <Section title="Explain" id="explain">
          <p className="muted">Would this recipient get a workflow on a channel now — and if not, why?</p>
          <ExplainBox recipient={recipient} />
        </Section>
      ) : null}
      <RecentActivity filter={filter} />
    </>
  );
}

export function UserPage() {
  const id = useParams().id!;
  return <RecipientDetail key={id} base={`/v1/users/${encodeURIComponent(id)}`} recipient={id} title={`User ${id}`} />;
}

export function ObjectPage() {
  const { collection, id } = useParams() as { collection: string; id: string };
  return <RecipientDetail key={`${collection}/${id}`} base={`/v1/objects/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`} recipient={{ collection, id }} title={`Object ${collection}/${id}`} />;
}

export function TenantPage() {
  const id = useParams().id!;
  const tenant = useQuery({ queryKey: ['tenant', id], queryFn: ({ signal }) => api<Entity>(`/v1/tenants/${encodeURIComponent(id)}`, { signal }) });
  return (
    <>
      <PageHeader title={`Tenant ${id}`} />
      {tenant.isPending ? <Loading /> : tenant.isError ? <ErrorNote error={tenant.error} /> : <Section title="Properties"><Json value={tenant.data} label="Tenant" /></Section>}
      <RecentActivity filter={{ tenant: id }} />
    </>
  );
}
