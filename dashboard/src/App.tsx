import { lazy, Suspense } from 'react';
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useLocation } from 'react-router';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError, isUnauthorized } from './api';
import { SESSION_KEY, useSession } from './session';
import { Layout } from './components/Layout';
import { ErrorNote, Loading } from './components/ui';
import { SignInPage } from './pages/SignIn';
import { WorkflowsPage } from './pages/Workflows';
import { WorkflowPage } from './pages/Workflow';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/Run';
import { MessagesPage } from './pages/Messages';
import { MessagePage } from './pages/Message';
import { RecipientsPage, UserPage, ObjectPage, TenantPage } from './pages/Recipients';
import { SchedulesPage } from './pages/Schedules';
import { BulkOperationsPage } from './pages/BulkOperations';
import { ChannelsPage } from './pages/Channels';
import { AudiencesPage } from './pages/Audiences';
import { NotFoundPage } from './pages/NotFound';

// The charts library is most of the bundle: it loads with the overview only.
const OverviewPage = lazy(() => import('./pages/Overview'));

/**
 * A 401 from any data call means the session ended: mark the session as gone, and the guard
 * sends the user to sign in. (Not for the session check itself, which is how it is known.)
 */
const sessionEnded = (error: unknown) => {
  if (isUnauthorized(error)) void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
};

const queryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (error, query) => {
      if (query.queryKey[0] !== SESSION_KEY[0]) sessionEnded(error);
    },
  }),
  mutationCache: new MutationCache({ onError: (error) => sessionEnded(error) }),
  defaultOptions: {
    queries: {
      // A 4xx answer will not change on retry; a network error or a 5xx may.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

/** Everything but the sign-in page needs a session. */
function RequireSession() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <Loading what="Checking your session" />;
  if (session.isError) {
    if (isUnauthorized(session.error)) {
      const next = location.pathname + location.search;
      return <Navigate to={`/sign-in${next && next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />;
    }
    return <main className="content"><ErrorNote error={session.error} title="Herald could not be reached" /></main>;
  }
  return <Outlet />;
}

const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  {
    element: <RequireSession />,
    children: [{
      element: <Layout />,
      children: [
        { index: true, element: <Suspense fallback={<Loading what="Loading charts" />}><OverviewPage /></Suspense> },
        { path: 'workflows', element: <WorkflowsPage /> },
        { path: 'workflows/:key', element: <WorkflowPage /> },
        { path: 'runs', element: <RunsPage /> },
        { path: 'runs/:id', element: <RunPage /> },
        { path: 'messages', element: <MessagesPage /> },
        { path: 'messages/:id', element: <MessagePage /> },
        { path: 'recipients', element: <RecipientsPage /> },
        { path: 'recipients/users/:id', element: <UserPage /> },
        { path: 'recipients/objects/:collection/:id', element: <ObjectPage /> },
        { path: 'recipients/tenants/:id', element: <TenantPage /> },
        { path: 'schedules', element: <SchedulesPage /> },
        { path: 'bulk-operations', element: <BulkOperationsPage /> },
        { path: 'channels', element: <ChannelsPage /> },
        { path: 'audiences', element: <AudiencesPage /> },
        { path: '*', element: <NotFoundPage /> },
      ],
    }],
  },
], { basename: '/dashboard' });

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
