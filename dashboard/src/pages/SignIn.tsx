import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, isUnauthorized } from '../api';
import { SESSION_KEY } from '../session';
import type { Session } from '../types';

export function SignInPage() {
  const [token, setToken] = useState('');
  const [environment, setEnvironment] = useState('');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const signIn = useMutation({
    mutationFn: () => api<Session>('/dashboard/api/session', {
      method: 'POST',
      body: { token: token.trim(), ...(environment.trim() ? { environment: environment.trim() } : {}) },
    }),
    onSuccess: (session) => {
      client.clear();
      client.setQueryData(SESSION_KEY, session);
      const next = params.get('next');
      // Only a path inside the dashboard: never an absolute URL from the query string.
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) signIn.mutate();
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand"><span className="logo" aria-hidden="true">H</span> Herald</div>
        <h1 id="signin-title">Sign in to the dashboard</h1>
        <p className="muted">
          Use an environment's secret key (<code>sk_…</code>, printed on Herald's first start and by{' '}
          <code>npm run herald -- keys show</code>) or the <code>HERALD_DASHBOARD_TOKEN</code> you configured.
        </p>
        <label className="field">
          <span>Secret key or dashboard token</span>
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            required
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Environment <span className="muted">(optional; only with the dashboard token)</span></span>
          <input type="text" name="environment" placeholder="development" value={environment} onChange={(e) => setEnvironment(e.target.value)} />
        </label>
        {signIn.isError ? (
          <p className="note note-error" role="alert">
            {isUnauthorized(signIn.error) ? 'That key or token was not accepted. ' : null}
            {errorMessage(signIn.error)}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
