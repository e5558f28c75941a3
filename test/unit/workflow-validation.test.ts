import { describe, expect, it } from 'vitest';
import { validateWorkflowDefinition } from '../../src/domain/workflow.js';

/** A valid workflow: an in-app message, a delay, then a conditional email. */
function workflow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'comment-created',
    name: 'Comment created',
    categories: ['collaboration'],
    steps: [
      {
        ref: 'in_app_feed_1',
        type: 'channel',
        channel_key: 'in-app',
        channel_type: 'in_app_feed',
        template: { markdown_body: '**{{ actor.name }}** commented', action_url: '{{ data.url }}' },
      },
      { ref: 'delay_1', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 30 } } },
      {
        ref: 'email_1',
        type: 'channel',
        channel_key: 'postmark',
        channel_type: 'email',
        conditions: { all: [{ variable: 'refs.in_app_feed_1.engagement_status', operator: 'not_contains', argument: '$message.read' }] },
        template: { subject: 'New comment', html_body: '<p>Hi</p>' },
      },
    ],
    ...overrides,
  };
}

function errorsOf(raw: unknown) {
  const result = validateWorkflowDefinition(raw);
  return result.ok ? [] : result.errors;
}

function withStep(index: number, patch: Record<string, unknown>) {
  const wf = workflow();
  const steps = wf.steps as Record<string, unknown>[];
  steps[index] = { ...steps[index], ...patch };
  return wf;
}

describe('validateWorkflowDefinition', () => {
  it('accepts a valid workflow and returns it unchanged', () => {
    const wf = workflow();
    expect(validateWorkflowDefinition(wf)).toEqual({ ok: true, workflow: wf });
  });

  it('accepts null and {} conditions as "no conditions", as Knock returns them', () => {
    expect(errorsOf(withStep(1, { conditions: {} }))).toEqual([]);
    expect(errorsOf(withStep(1, { conditions: null }))).toEqual([]);
  });

  it('rejects a non-object', () => {
    expect(errorsOf([])).toEqual([{ field: '', message: 'must be a JSON object' }]);
  });

  it('rejects a key with uppercase letters', () => {
    expect(errorsOf(workflow({ key: 'Comment' }))).toEqual([{ field: 'key', message: 'must match pattern "^[a-z0-9_-]+$"' }]);
  });

  it('rejects a key shorter than 3 characters', () => {
    expect(errorsOf(workflow({ key: 'ab' }))).toEqual([{ field: 'key', message: 'must NOT have fewer than 3 characters' }]);
  });

  it('requires a name and steps', () => {
    const { name: _name, steps: _steps, ...rest } = workflow();
    expect(errorsOf(rest)).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'steps', message: 'is required' },
    ]);
  });

  it('rejects an unknown trigger_frequency', () => {
    expect(errorsOf(workflow({ trigger_frequency: 'sometimes' }))).toEqual([
      { field: 'trigger_frequency', message: 'must be one of: every_trigger, once_per_recipient, once_per_recipient_per_tenant' },
    ]);
  });

  it('rejects duplicate step refs', () => {
    expect(errorsOf(withStep(2, { ref: 'delay_1' }))).toEqual([
      { field: 'steps[2].ref', message: 'duplicates the ref "delay_1" of steps[1]' },
    ]);
  });

  it('rejects an unknown step type', () => {
    expect(errorsOf(withStep(1, { type: 'teleport' }))[0]).toMatchObject({ field: 'steps[1].type', message: expect.stringContaining('must be one of') });
  });

  it('rejects a channel step with both channel_key and channel_group_key', () => {
    expect(errorsOf(withStep(2, { channel_group_key: 'email-group' }))).toEqual([
      { field: 'steps[2].channel_key', message: 'set channel_key or channel_group_key, not both' },
    ]);
  });

  it('rejects a channel step with neither channel_key nor channel_group_key', () => {
    expect(errorsOf(withStep(2, { channel_key: null }))).toEqual([
      { field: 'steps[2].channel_key', message: 'channel_key or channel_group_key is required' },
    ]);
  });

  it('requires markdown_body on an in_app_feed template', () => {
    expect(errorsOf(withStep(0, { template: { action_url: '/x' } }))).toEqual([
      { field: 'steps[0].template.markdown_body', message: 'is required' },
    ]);
  });

  it('checks in_app_feed action buttons', () => {
    expect(errorsOf(withStep(0, { template: { markdown_body: 'x', action_buttons: [{ label: 'Open' }] } }))).toEqual([
      { field: 'steps[0].template.action_buttons[0].action', message: 'is required' },
    ]);
  });

  it('requires delay_for or delay_until_field_path on a delay step', () => {
    expect(errorsOf(withStep(1, { settings: {} }))).toEqual([
      { field: 'steps[1].settings', message: 'needs delay_for or delay_until_field_path' },
    ]);
  });

  it('rejects an unknown duration unit', () => {
    expect(errorsOf(withStep(1, { settings: { delay_for: { unit: 'years', value: 1 } } }))).toEqual([
      { field: 'steps[1].settings.delay_for.unit', message: 'must be one of: seconds, minutes, hours, days, weeks, months' },
    ]);
  });

  it('rejects a non-integer duration value', () => {
    expect(errorsOf(withStep(1, { settings: { delay_for: { unit: 'hours', value: '2' } } }))).toEqual([
      { field: 'steps[1].settings.delay_for.value', message: 'must be integer' },
    ]);
  });

  it('rejects a negative fixed delay but allows a negative relative offset', () => {
    expect(errorsOf(withStep(1, { settings: { delay_for: { unit: 'hours', value: -2 } } }))).toEqual([
      { field: 'steps[1].settings.delay_for.value', message: 'must not be negative for a fixed delay' },
    ]);
    expect(errorsOf(withStep(1, { settings: { delay_for: { unit: 'hours', value: -2 }, delay_until_field_path: 'data.due_at' } }))).toEqual([]);
  });

  it('rejects a fixed delay over 365 days', () => {
    expect(errorsOf(withStep(1, { settings: { delay_for: { unit: 'weeks', value: 53 } } }))).toEqual([
      { field: 'steps[1].settings.delay_for', message: '53 weeks exceeds the 365-day maximum delay' },
    ]);
  });

  it('checks durations of steps that are not executed yet', () => {
    expect(errorsOf(withStep(1, { type: 'batch', settings: { batch_window: { unit: 'hours' } } }))).toEqual([
      { field: 'steps[1].settings.batch_window.value', message: 'is required' },
    ]);
  });

  it('rejects an unknown condition operator', () => {
    const errors = errorsOf(withStep(1, { conditions: { all: [{ variable: 'data.x', operator: 'roughly', argument: '1' }] } }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'steps[1].conditions.all[0].operator', message: expect.stringContaining('must be one of: equal_to') });
  });

  it('requires an argument for operators that compare', () => {
    expect(errorsOf(withStep(1, { conditions: { any: [{ all: [{ variable: 'data.x', operator: 'equal_to', argument: null }] }] } }))).toEqual([
      { field: 'steps[1].conditions.any[0].all[0].argument', message: 'is required for operator "equal_to"' },
    ]);
  });

  it('rejects a condition group with both all and any', () => {
    expect(errorsOf(workflow({ conditions: { all: [], any: [] } }))).toEqual([
      { field: 'conditions', message: 'must have either "all" or "any", not both' },
    ]);
  });

  it('validates steps nested in branches, with refs unique across the workflow', () => {
    const branch = {
      ref: 'branch_1',
      type: 'branch',
      branches: [
        { name: 'Pro', conditions: { all: [{ variable: 'recipient.plan', operator: 'equal_to', argument: 'pro' }] }, steps: [{ ref: 'delay_1', type: 'delay', settings: {} }] },
        { name: 'Default', steps: [] },
      ],
    };
    expect(errorsOf(workflow({ steps: [...(workflow().steps as unknown[]), branch] }))).toEqual([
      { field: 'steps[3].branches[0].steps[0].ref', message: 'duplicates the ref "delay_1" of steps[1]' },
      { field: 'steps[3].branches[0].steps[0].settings', message: 'needs delay_for or delay_until_field_path' },
    ]);
  });

  it('rejects conditions on a branch step itself', () => {
    const branch = { ref: 'branch_1', type: 'branch', conditions: { all: [{ variable: 'data.x', operator: 'exists' }] }, branches: [{ name: 'Default', steps: [] }] };
    expect(errorsOf(workflow({ steps: [branch] }))).toEqual([
      { field: 'steps[0].conditions', message: 'is not allowed on branch steps; put conditions on the branches' },
    ]);
  });

  it('rejects a trigger_data_json_schema that does not compile', () => {
    const errors = errorsOf(workflow({ trigger_data_json_schema: { type: 'object', properties: { n: { type: 'integr' } } } }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'trigger_data_json_schema', message: expect.stringContaining('is not a valid JSON schema') });
  });
});
