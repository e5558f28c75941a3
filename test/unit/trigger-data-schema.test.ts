import { describe, expect, it } from 'vitest';
import { validateTriggerData } from '../../src/domain/trigger-data-schema.js';

const schema = {
  type: 'object',
  required: ['email', 'items'],
  properties: {
    email: { type: 'string', format: 'email' },
    items: { type: 'array', items: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
    'display name': { type: 'string' },
  },
};

describe('validateTriggerData', () => {
  it('returns no errors for valid data', () => {
    expect(validateTriggerData(schema, { email: 'ann@example.com', items: [{ id: 1 }] })).toEqual([]);
  });

  it('reports every missing required property', () => {
    expect(validateTriggerData(schema, {})).toEqual([
      { field: 'data.email', message: 'is required', type: 'required' },
      { field: 'data.items', message: 'is required', type: 'required' },
    ]);
  });

  it('checks formats', () => {
    expect(validateTriggerData(schema, { email: 'not-an-email', items: [] })).toEqual([
      { field: 'data.email', message: 'must match format "email"', type: 'invalid' },
    ]);
  });

  it('names array items by index', () => {
    expect(validateTriggerData(schema, { email: 'ann@example.com', items: [{ id: 1 }, { id: 'two' }] })).toEqual([
      { field: 'data.items[1].id', message: 'must be integer', type: 'invalid' },
    ]);
  });

  it('quotes property names that are not identifiers', () => {
    expect(validateTriggerData(schema, { email: 'ann@example.com', items: [], 'display name': 5 })).toEqual([
      { field: 'data["display name"]', message: 'must be string', type: 'invalid' },
    ]);
  });

  it('reports properties the schema forbids', () => {
    const closed = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
    expect(validateTriggerData(closed, { a: 'x', b: 1 })).toEqual([
      { field: 'data.b', message: 'is not an allowed property', type: 'unrecognized' },
    ]);
  });

  it('checks absent data as an empty object', () => {
    expect(validateTriggerData({ type: 'object', required: ['x'] }, undefined)).toEqual([
      { field: 'data.x', message: 'is required', type: 'required' },
    ]);
  });

  it('understands draft 2020-12 schemas', () => {
    const modern = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { tags: { type: 'array', prefixItems: [{ type: 'string' }] } } };
    expect(validateTriggerData(modern, { tags: [1] })).toEqual([{ field: 'data.tags[0]', message: 'must be string', type: 'invalid' }]);
  });

  it('throws when the schema itself is invalid', () => {
    expect(() => validateTriggerData({ type: 'strnig' }, {})).toThrow();
  });
});
