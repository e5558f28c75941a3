import { Type, type Static } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { CHANNEL_TYPES } from '../../domain/preferences.js';
import { TENANTS, toEntityKey, type EntityKey } from '../../domain/recipients.js';
import type { RunRow } from '../../domain/run.js';
import { entityMapKey } from '../../engine/ports.js';
import { channelPreferenceExplanation } from '../../engine/channel-step.js';
import { preferenceLayers } from '../../engine/preference-layers.js';
import { buildRunScope } from '../../engine/run-scope.js';
import { findChannel } from '../../store/channels.js';
import { getEntities } from '../../store/entities.js';
import { preferenceSetsWithDefault } from '../../store/environment-preferences.js';
import { getWorkflowHead, getWorkflowVersion } from '../../store/workflows.js';
import { Id, RecipientReference } from '../schemas/common.js';
import { AnyObject, Nullable } from '../schemas/identify.js';
import type { ApiDeps, App } from '../types.js';
import type { Db } from '../../store/db.js';

/*
 * Explains a preference decision (Herald extension): would a channel step of this workflow send
 * to this recipient, and which layer and key decided? It loads what the worker loads (the
 * recipient's sets and the environment default in one statement, the recipient, tenant and actor
 * entities), builds the same layers and scope, and calls the same function a channel step
 * calls, so the answer is the step's decision. A skipped step records the same fields on its
 * `step_skipped` run event.
 */

export const ExplainBody = Type.Object({
  recipient: RecipientReference,
  workflow: Type.String({ minLength: 1, description: 'Workflow key (its current version is explained)' }),
  channel_key: Type.Optional(Type.String({ minLength: 1, description: 'Channel key or id; takes precedence over channel_type' })),
  channel_type: Type.Optional(Type.Union(CHANNEL_TYPES.map((t) => Type.Literal(t)), { description: 'A channel type, when no particular channel is meant' })),
  tenant: Type.Optional(Nullable(Id)),
  actor: Type.Optional(RecipientReference),
  data: Type.Optional(Nullable(AnyObject)),
}, { description: 'The trigger to explain, as a channel step would see it' });

const Layer = Type.Object({ name: Type.String(), set: Nullable(AnyObject) });
const ExplainResponse = Type.Object({
  allowed: Type.Boolean(),
  reason: Nullable(Type.String()),
  decided_by: Nullable(Type.Object({ layer: Nullable(Type.String()), key: Type.String({ description: 'Dotted path, e.g. workflows.welcome' }) })),
  layers: Type.Array(Layer, { description: 'The sets consulted, highest precedence first; absent sets are null' }),
  merged: AnyObject,
});

export function registerPreferenceExplainRoutes(app: App, deps: ApiDeps): void {
  app.post('/v1/preferences/explain', {
    config: { auth: 'secret' },
    schema: {
      tags: ['preferences'],
      summary: 'Explain whether a channel step would send, and which preference layer and key decided (Herald extension)',
      body: ExplainBody,
      response: { 200: ExplainResponse },
    },
  }, async (request) => explainChannelPreference(deps.db, deps.clock.now(), request.body));
}

/**
 * The explanation for one trigger and channel against `db` (one environment's store); also used
 * by the dashboard's explain endpoint for every channel step of a workflow.
 */
export async function explainChannelPreference(db: Db, now: Date, body: Static<typeof ExplainBody>) {
  if (!body.channel_key && !body.channel_type) {
    throw errors.invalidParams('One of "channel_key" or "channel_type" is required.', [{ field: 'channel_key', message: 'one of channel_key or channel_type is required', type: 'missing' }]);
  }
  const head = await getWorkflowHead(db, body.workflow);
  const def = head ? await getWorkflowVersion(db, head.sha) : null;
  if (!def) throw errors.workflowMissing(body.workflow);

  let channel: { id: string; type: string } = { id: '', type: body.channel_type ?? '' };
  if (body.channel_key) {
    const row = await findChannel(db, body.channel_key);
    if (!row) throw errors.channelInvalid(body.channel_key);
    if (body.channel_type && body.channel_type !== row.type) {
      throw errors.invalidParams(`Channel "${body.channel_key}" is of type "${row.type}", not "${body.channel_type}".`, [{ field: 'channel_type', message: `does not match the channel's type "${row.type}"`, type: 'invalid' }]);
    }
    channel = { id: row.id, type: row.type };
  }

  const recipient = toEntityKey(body.recipient);
  const tenantId = body.tenant ?? null;
  const actor = body.actor ? toEntityKey(body.actor) : null;
  const keys: EntityKey[] = [recipient, ...(tenantId ? [{ collection: TENANTS, id: tenantId }] : []), ...(actor ? [actor] : [])];
  const [entities, sets] = await Promise.all([getEntities(db, keys), preferenceSetsWithDefault(db, [recipient])]);
  const properties = new Map(entities.map((e) => [entityMapKey(e), e.properties]));

  // The worker's scope builder, fed a run as the trigger would have created it.
  const run = {
    recipient_collection: recipient.collection,
    recipient_id: recipient.id,
    tenant_id: tenantId,
    actor,
    data: body.data ?? {},
    cancellation_key: null,
    state: {},
  } as Pick<RunRow, 'recipient_collection' | 'recipient_id' | 'tenant_id' | 'actor' | 'data' | 'cancellation_key' | 'state'> as RunRow;
  const scope = buildRunScope(run, def, (k) => properties.get(entityMapKey(k)));
  const recipientSets = new Map(sets.rows.map((r) => [r.set_id, r.preferences]));
  const layers = preferenceLayers(recipientSets, tenantId, scope.tenant, sets.environmentDefault);
  return channelPreferenceExplanation(def, channel, layers, scope, now);
}
