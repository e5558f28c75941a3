import { batchStep } from './batch.js';
import { channelStep } from './channel.js';
import { delayStep } from './delay.js';
import { httpFetchStep } from './http-fetch.js';
import { throttleStep } from './throttle.js';
import { triggerWorkflowStep } from './trigger-workflow.js';
import type { StepHandler } from './types.js';
import { updateDataStep } from './update-data.js';
import { updateObjectStep, updateTenantStep, updateUserStep } from './update-entity.js';
import { waitForEventStep } from './wait-for-event.js';

/** Step type -> handler. Branches are compiled into the program (program.ts), not handled here. */
export const STEP_HANDLERS: Record<string, StepHandler> = {
  delay: delayStep,
  batch: batchStep,
  channel: channelStep,
  throttle: throttleStep,
  trigger_workflow: triggerWorkflowStep,
  update_data: updateDataStep,
  update_user: updateUserStep,
  update_tenant: updateTenantStep,
  update_object: updateObjectStep,
  http_fetch: httpFetchStep,
  wait_for_event: waitForEventStep,
};
