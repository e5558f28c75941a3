/** TypeBox schemas shared by the management API's routes (Knock's mgmt spec). */
import { Type } from '@sinclair/typebox';
import { ENVIRONMENTS } from '../../domain/environments.js';

/** `?environment=` is required on every content route, as in Knock's spec. */
export const EnvironmentQuery = Type.String({ minLength: 1, description: `The environment slug: ${ENVIRONMENTS.join(', ')}.` });

/** Parameters knock-cli sends on content reads: `branch` is accepted and ignored (Herald has no branches). */
const ContentFlags = {
  branch: Type.Optional(Type.String()),
  annotate: Type.Optional(Type.Boolean()),
  hide_uncommitted_changes: Type.Optional(Type.Boolean()),
};

/** `?environment=` plus cursors and the content flags: every content list route. */
export const ContentListQuery = Type.Object({
  environment: EnvironmentQuery,
  after: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1 })),
  ...ContentFlags,
});

/** `?environment=` plus the content flags: every content get route. */
export const ContentGetQuery = Type.Object({ environment: EnvironmentQuery, ...ContentFlags });

export const PageInfo = Type.Object({
  after: Type.Union([Type.String(), Type.Null()]),
  before: Type.Union([Type.String(), Type.Null()]),
  page_size: Type.Integer(),
});

/** Steps differ by type (channel, delay, batch, branch, ...): each object is sent whole. */
const Step = Type.Object({ type: Type.String(), ref: Type.String() }, { additionalProperties: true });

export const Workflow = Type.Object({
  key: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean(),
  valid: Type.Boolean(),
  environment: Type.String(),
  categories: Type.Array(Type.String()),
  conditions: Type.Unknown(),
  settings: Type.Object({}, { additionalProperties: true }),
  steps: Type.Array(Step),
  trigger_data_json_schema: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  trigger_frequency: Type.String(),
  tags: Type.Array(Type.String()),
  sha: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
}, { additionalProperties: true });
