/**
 * The error catalog: every error Herald answers with, in Knock's shape
 * `{code, message, status, type, errors?}`. Routes and the engine throw `HeraldError`;
 * the API's error handler is the only place that turns it into a response.
 */
export interface FieldError {
  field: string;
  message: string;
  type: string;
}

export type ErrorType = 'authentication_error' | 'invalid_request_error' | 'api_error';

export class HeraldError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: ErrorType,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = 'HeraldError';
  }

  toBody(): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.code, message: this.message, status: this.status, type: this.type };
    if (this.errors) body.errors = this.errors;
    return body;
  }
}

export const errors = {
  apiKeyMissing: () => new HeraldError(401, 'api_key_missing', 'An API key is required: send it as "Authorization: Bearer <key>".', 'authentication_error'),
  apiKeyInvalid: () => new HeraldError(401, 'authentication_required', 'The API key is not valid for this environment.', 'authentication_error'),
  incorrectTokenType: () => new HeraldError(403, 'incorrect_token_type', 'This endpoint needs a secret key (sk_...); a public key cannot call it.', 'authentication_error'),
  missingUserToken: () => new HeraldError(401, 'missing_user_token', 'A user token (X-Knock-User-Token) is required with a public key.', 'authentication_error'),
  invalidUserToken: (why: string) => new HeraldError(401, 'invalid_user_token', `The user token is not valid: ${why}.`, 'authentication_error'),
  serviceTokenRequired: () => new HeraldError(401, 'authentication_required',
    'The management API needs a service token: send it as "Authorization: Bearer <service token>". API keys (sk_/pk_) are not accepted here.', 'authentication_error'),
  serviceTokenNotAccepted: () => new HeraldError(401, 'authentication_required',
    'A service token only calls the management API (/mgmt/v1/...); this route needs an API key of the environment.', 'authentication_error'),
  forbidden: (why: string) => new HeraldError(403, 'authorization', why, 'authentication_error'),
  secretKeyInUrl: () => new HeraldError(401, 'authentication_required',
    'The secret key is never accepted in a URL (URLs end up in logs and browser history); send it as "Authorization: Bearer <key>".', 'authentication_error'),
  /** A route that does not say who may call it is refused rather than left open (a Herald bug, not the caller's). */
  routeAccessUndeclared: () => new HeraldError(403, 'authorization', 'This route declares no access rule, so nobody may call it.', 'authentication_error'),
  invalidParams: (message: string, fieldErrors: FieldError[] = []) =>
    new HeraldError(422, 'invalid_params', message, 'invalid_request_error', fieldErrors),
  badRequest: (message: string) => new HeraldError(400, 'invalid_params', message, 'invalid_request_error'),
  notFound: (what: string) => new HeraldError(404, 'resource_missing', `${what} was not found.`, 'invalid_request_error'),
  routeNotFound: (method: string, url: string) => new HeraldError(404, 'resource_missing', `No route ${method} ${url}.`, 'invalid_request_error'),
  workflowMissing: (key: string) => new HeraldError(404, 'workflow_missing', `No workflow with key "${key}" exists.`, 'invalid_request_error'),
  workflowInactive: (key: string) => new HeraldError(422, 'workflow_inactive', `The workflow "${key}" is not active.`, 'invalid_request_error'),
  actorMissing: (id: string) => new HeraldError(422, 'actor_missing', `The actor "${id}" has not been identified; identify it or send it inline.`, 'invalid_request_error',
    [{ field: 'actor', message: `user "${id}" does not exist`, type: 'missing' }]),
  channelInvalid: (id: string) => new HeraldError(404, 'channel_invalid', `No channel with id or key "${id}" exists.`, 'invalid_request_error'),
  idempotencyMismatch: () => new HeraldError(422, 'invalid_params', 'This Idempotency-Key was already used with a different request body.', 'invalid_request_error',
    [{ field: 'Idempotency-Key', message: 'reused with different parameters', type: 'idempotency_mismatch' }]),
  rateLimited: (retryAfterSeconds: number) => new HeraldError(429, 'rate_limit_exceeded', `Too many requests; retry after ${retryAfterSeconds} s.`, 'api_error'),
  /** The database connection was lost while committing: the write may or may not have happened. */
  outcomeUnknown: (hasIdempotencyKey = true) => new HeraldError(503, 'outcome_unknown',
    'The connection to the database was lost while the request was being committed: it may or may not have been applied. '
    + (hasIdempotencyKey ? 'Retrying with the same Idempotency-Key is safe: it is applied at most once.' : 'Retry with an Idempotency-Key to make retries safe; without one a retry may apply it twice.'),
    'api_error'),
  internal: () => new HeraldError(500, 'internal_error', 'Something went wrong inside Herald; the request was not completed.', 'api_error'),
} as const;
