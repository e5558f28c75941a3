import { Type } from '@sinclair/typebox';
import { Id, RecipientReference } from '../schemas/common.js';
import type { ApiDeps, App } from '../types.js';

/**
 * Herald extension: delivers an event to runs paused on a `wait_for_event` step. Knock has no
 * public endpoint for this, so none of its SDKs call it. Secret key only.
 */
const EventBody = Type.Object({
  event: Type.String({ minLength: 1, maxLength: 255, description: 'The event name a wait_for_event step waits for (its settings.event).' }),
  recipient: Type.Optional(Type.Union([RecipientReference, Type.Null()], { description: 'Only runs of this recipient (user id or {id, collection}); absent = every waiting run.' })),
  tenant: Type.Optional(Type.Union([Id, Type.Null()], { description: 'Only runs triggered with this tenant.' })),
  data: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'Seen as `data.*` by match conditions, then shallow-merged into the run\'s data.' })),
});

const EventResponse = Type.Object({
  matched_runs: Type.Integer({ description: 'Runs whose wait this event matched; they are due now.' }),
});

export function registerWorkflowEventRoutes(app: App, deps: ApiDeps): void {
  app.post('/v1/workflow_events', {
    config: { auth: 'secret' },
    schema: {
      tags: ['workflows'],
      summary: 'Deliver an event to runs waiting for it (Herald extension)',
      body: EventBody,
      response: { 200: EventResponse },
    },
  }, async (request) => {
    const matched = await deps.engine.deliverEvent(request.body as any);
    return { matched_runs: matched };
  });
}
