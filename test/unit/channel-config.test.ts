import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('channels configuration', () => {
  const smtp = { key: 'email', type: 'email', provider: 'smtp', settings: { host: 'mail.example.com', password: 'x' } };

  it('reads HERALD_CHANNELS as a JSON list of channels', () => {
    const config = loadConfig([], { HERALD_CHANNELS: JSON.stringify([smtp]) });
    expect(config.channels).toEqual([{ ...smtp, name: undefined, fallbacks: [] }]);
  });

  it('defaults to no configured channels', () => {
    expect(loadConfig([], {}).channels).toEqual([]);
  });

  it('names the entry and field of an invalid channel', () => {
    expect(() => loadConfig([], { HERALD_CHANNELS: JSON.stringify([smtp, { ...smtp, key: 'sms', type: 'pager' }]) }))
      .toThrow('HERALD_CHANNELS[1].type must be one of email, sms, push, chat, http, in_app_feed');
    expect(() => loadConfig([], { HERALD_CHANNELS: JSON.stringify([smtp, smtp]) })).toThrow('HERALD_CHANNELS[1].key "email" is configured twice');
  });
});
