import { useQuery } from '@tanstack/react-query';
import { ApiError, api } from '../api';
import type { Paged, Recipient } from '../types';
import { rows } from '../types';
import { Empty, ErrorNote, Loading, PageHeader, RecipientLink, Time } from '../components/ui';
import { LookupForm, useLookup } from '../components/LookupForm';

interface Member { user_id?: string; user?: { id: string; name?: string | null }; recipient?: Recipient; tenant?: string | null; added_at?: string; inserted_at?: string }

export function AudiencesPage() {
  const [key, setKey] = useLookup('key');
  const members = useQuery({
    queryKey: ['audience', key],
    enabled: key !== '',
    queryFn: ({ signal }) => api<Paged<Member>>(`/v1/audiences/${encodeURIComponent(key)}/members`, { query: { page_size: 50 }, signal }),
  });
  const list = rows(members.data);
  return (
    <>
      <PageHeader title="Audiences" subtitle="Named lists of users a workflow can be triggered for" />
      <LookupForm key={key} name="key" label="Audience key" value={key} onSubmit={setKey} placeholder="beta-testers" />
      {key === '' ? <p className="muted">Name an audience to list its members. Members are added with <code>POST /v1/audiences/:key/members</code>.</p>
        : members.isPending ? <Loading /> : members.isError ? (
          members.error instanceof ApiError && members.error.status === 404
            ? <Empty title={`There is no audience “${key}”`}><p>An audience exists once a member is added: <code>POST /v1/audiences/{key}/members</code>.</p></Empty>
            : <ErrorNote error={members.error} />
        )
          : list.length === 0 ? <Empty title={`“${key}” has no members`}><p>Add some with <code>POST /v1/audiences/{key}/members</code>.</p></Empty> : (
            <div className="table-wrap">
              <table className="table" aria-label={`Members of ${key}`}>
                <thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Tenant</th><th scope="col">Added</th></tr></thead>
                <tbody>
                  {list.map((m, i) => {
                    const user = m.user_id ?? m.user?.id;
                    return (
                      <tr key={`${user}-${m.tenant}-${i}`}>
                        <td><RecipientLink recipient={user ?? m.recipient ?? null} /></td>
                        <td>{m.user?.name ?? <span className="muted">—</span>}</td>
                        <td>{m.tenant ?? <span className="muted">—</span>}</td>
                        <td><Time at={m.added_at ?? m.inserted_at} /></td>
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
