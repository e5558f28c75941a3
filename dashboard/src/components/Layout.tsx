import { useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import { SESSION_KEY, useSession } from '../session';
import type { Session } from '../types';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/workflows', 'Workflows'],
  ['/runs', 'Runs'],
  ['/messages', 'Messages'],
  ['/recipients', 'Recipients'],
  ['/schedules', 'Schedules'],
  ['/bulk-operations', 'Bulk operations'],
  ['/channels', 'Channels'],
  ['/audiences', 'Audiences'],
];

function EnvironmentSwitcher({ session }: { session: Session }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const change = useMutation({
    mutationFn: (environment: string) => api<Session>('/dashboard/api/session/environment', { method: 'PUT', body: { environment } }),
    onSuccess: (next) => {
      // Every cached answer belongs to the previous environment.
      client.clear();
      client.setQueryData(SESSION_KEY, next);
      navigate('/');
    },
  });
  if (!session.can_switch_environment || session.environments.length < 2) {
    return <span className="env-pill" title="Environment">{session.environment}</span>;
  }
  return (
    <label className="env-switch">
      <span className="visually-hidden">Environment</span>
      <select value={session.environment} disabled={change.isPending} onChange={(e) => change.mutate(e.target.value)} aria-label="Environment">
        {session.environments.map((env) => <option key={env.slug} value={env.slug}>{env.name || env.slug}</option>)}
      </select>
      {change.isError ? <span role="alert" className="error-text">{errorMessage(change.error)}</span> : null}
    </label>
  );
}

export function Layout() {
  const session = useSession().data;
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => api('/dashboard/api/session', { method: 'DELETE' }),
    onSettled: () => {
      // Leave first: the pages below must not render once the cache (the session) is gone.
      navigate('/sign-in', { replace: true });
      client.clear();
    },
  });
  // The phone menu closes on navigation (the key remounts nothing; the state is per location).
  const [openedAt, setOpenedAt] = useState(location.key);
  const menuOpen = open && openedAt === location.key;
  // Between signing out (the cache cleared) and the sign-in page.
  if (!session) return null;

  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="brand"><span className="logo" aria-hidden="true">H</span> Herald</div>
        <button
          type="button"
          className="btn menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => { setOpen(!menuOpen); setOpenedAt(location.key); }}
        >
          Menu
        </button>
        <div className="topbar-right">
          <EnvironmentSwitcher session={session} />
          <button type="button" className="btn btn-quiet" onClick={() => signOut.mutate()}>Sign out</button>
        </div>
      </header>
      <nav id="main-nav" className={`sidenav${menuOpen ? ' open' : ''}`} aria-label="Main">
        <ul>
          {NAV.map(([to, label]) => (
            <li key={to}><NavLink to={to} end={to === '/'}>{label}</NavLink></li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
