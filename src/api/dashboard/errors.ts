/** The dashboard's own errors, in Knock's shape (domain/errors.ts's HeraldError). */
import { HeraldError } from '../../domain/errors.js';

export const dashboardErrors = {
  /** The same answer for every refused credential: it never says which kinds exist. */
  invalidCredentials: () => new HeraldError(401, 'invalid_credentials', 'Sign in with an environment\'s secret key (sk_…) or the dashboard token.', 'authentication_error'),
  noSession: () => new HeraldError(401, 'session_required', 'No dashboard session: sign in again.', 'authentication_error'),
  /** The request reached an environment the session is not for (a path the hand-over did not recognise). */
  wrongEnvironment: () => new HeraldError(401, 'session_required', 'The dashboard session belongs to another environment.', 'authentication_error'),
  csrfRejected: (why: string) => new HeraldError(403, 'csrf_rejected', `Refused: ${why}.`, 'authentication_error'),
  environmentForbidden: (slug: string) => new HeraldError(403, 'environment_forbidden', `This session was opened with a secret key of another environment and cannot act on "${slug}".`, 'authentication_error'),
  switchForbidden: () => new HeraldError(403, 'environment_switch_forbidden', 'Only a session opened with the dashboard token (HERALD_DASHBOARD_TOKEN) may switch environments; sign in with that environment\'s secret key instead.', 'authentication_error'),
  tooManyAttempts: (retryAfterSeconds: number) => new HeraldError(429, 'rate_limit_exceeded', `Too many sign-in attempts from this address; retry after ${retryAfterSeconds} s.`, 'api_error'),
  runNotCancellable: (status: string) => new HeraldError(409, 'run_not_cancellable', `The run is ${status}; only a queued or paused run can be cancelled.`, 'invalid_request_error'),
};
