import { useQuery } from '@tanstack/react-query';
import { api } from './api';
import type { Session } from './types';

export const SESSION_KEY = ['session'] as const;

/** The signed-in session (environment, and whether it may switch), or a 401 ApiError. */
export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: ({ signal }) => api<Session>('/dashboard/api/session', { signal }),
    staleTime: 60_000,
  });
}

/** The session's environment; only called below the guard, where a session exists. */
export function useEnvironment(): string {
  return useSession().data?.environment ?? '';
}
