import { Type } from '@sinclair/typebox';
import type { ApiDeps, App } from '../types.js';
import { environmentsOf } from './environments.js';
import { PageInfo } from './schemas.js';
import { deleteMgmtChannelGroup, getMgmtChannel, getMgmtChannelGroup, listMgmtChannelGroups, listMgmtChannels, upsertMgmtChannelGroup } from '../../workflows/mgmt-channels.js';

const ChannelType = Type.Union(['email', 'in_app', 'in_app_feed', 'in_app_guide', 'sms', 'push', 'chat', 'http'].map((t) => Type.Literal(t)));
const VisibleIn = Type.Array(Type.Union([Type.Literal('workflow'), Type.Literal('broadcast')]));
const Timestamp = Type.String({ format: 'date-time' });

/**
 * Strict response schemas (no additional properties): the serializer drops anything a builder
 * might add, and provider_settings values are scalars only (secrets are masked before this).
 */
const EnvironmentSettings = Type.Object({
  id: Type.String(),
  is_valid: Type.Boolean(),
  is_sandbox: Type.Boolean(),
  channel_settings: Type.Null(),
  provider_settings: Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.Number(), Type.String(), Type.Null()])),
}, { additionalProperties: false });

const Channel = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Type.String(),
  type: ChannelType,
  provider: Type.String(),
  description: Type.Null(),
  custom_icon_url: Type.Null(),
  archived_at: Type.Null(),
  visible_in: VisibleIn,
  created_at: Timestamp,
  updated_at: Timestamp,
  environment_settings: Type.Optional(Type.Record(Type.String(), EnvironmentSettings)),
}, { additionalProperties: false });

const ChannelGroupRule = Type.Object({
  index: Type.Integer(),
  rule_type: Type.Union([Type.Literal('if'), Type.Literal('unless'), Type.Literal('always')]),
  operator: Type.Null(),
  variable: Type.Null(),
  argument: Type.Null(),
  channel: Channel,
  created_at: Timestamp,
  updated_at: Timestamp,
}, { additionalProperties: false });

const ChannelGroup = Type.Object({
  key: Type.String(),
  name: Type.String(),
  channel_type: ChannelType,
  operator: Type.Union([Type.Literal('any'), Type.Literal('all')]),
  source: Type.Union([Type.Literal('system'), Type.Literal('user')]),
  archived_at: Type.Null(),
  visible_in: VisibleIn,
  channel_rules: Type.Array(ChannelGroupRule),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { additionalProperties: false });

const PageQuery = {
  after: Type.Optional(Type.String({ maxLength: 500 })),
  before: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1 })),
};

const Key = Type.String({ minLength: 1, maxLength: 255 });
const RuleText = Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]));

const ChannelGroupRequest = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  channel_type: ChannelType,
  operator: Type.Optional(Type.Union([Type.Literal('any'), Type.Literal('all')])),
  visible_in: Type.Optional(Type.Array(Type.Union([Type.Literal('workflow'), Type.Literal('broadcast')]), { maxItems: 2 })),
  channel_rules: Type.Optional(Type.Array(Type.Object({
    channel_key: Key,
    rule_type: Type.Union([Type.Literal('if'), Type.Literal('unless'), Type.Literal('always')]),
    index: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    operator: RuleText, variable: RuleText, argument: RuleText,
  }), { maxItems: 50 })),
});

/**
 * Channels, read-only (Knock mgmt: listChannels, getChannel), and channel groups (listChannelGroups,
 * getChannelGroup, upsertChannelGroup, deleteChannelGroup). Both are the same in every
 * environment, so no `?environment=`; channels are the operator's configuration, and a
 * channel's provider settings are masked; groups are configured or written here
 * (src/workflows/mgmt-channels.ts).
 */
export function registerMgmtChannelRoutes(app: App, deps: ApiDeps): void {
  const environments = environmentsOf(deps);

  app.get('/v1/channels', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List channels (Knock mgmt: listChannels)',
      querystring: Type.Object({
        ...PageQuery,
        id: Type.Optional(Type.String({ format: 'uuid' })),
        include: Type.Optional(Type.Array(Type.Literal('environment_settings'), { maxItems: 1 })),
      }),
      response: { 200: Type.Object({ entries: Type.Array(Channel), page_info: PageInfo }, { additionalProperties: false }) },
    },
  }, async (request) => listMgmtChannels(environments, request.query));

  app.get('/v1/channels/:channel_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a channel with its settings in each environment, secrets masked (Knock mgmt: getChannel)',
      params: Type.Object({ channel_key: Key }),
      response: { 200: Channel },
    },
  }, async (request) => getMgmtChannel(environments, request.params.channel_key));

  app.get('/v1/channel_groups', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List channel groups (Knock mgmt: listChannelGroups)',
      querystring: Type.Object(PageQuery),
      response: { 200: Type.Object({ entries: Type.Array(ChannelGroup), page_info: PageInfo }, { additionalProperties: false }) },
    },
  }, async (request) => listMgmtChannelGroups(environments, request.query));

  app.get('/v1/channel_groups/:channel_group_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a channel group (Knock mgmt: getChannelGroup)',
      params: Type.Object({ channel_group_key: Key }),
      response: { 200: ChannelGroup },
    },
  }, async (request) => getMgmtChannelGroup(environments, request.params.channel_group_key));

  app.put('/v1/channel_groups/:channel_group_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Create or update a channel group in every environment (Knock mgmt: upsertChannelGroup)',
      params: Type.Object({ channel_group_key: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' }) }),
      body: Type.Object({ channel_group: ChannelGroupRequest }),
      response: { 200: Type.Object({ channel_group: ChannelGroup }, { additionalProperties: false }) },
    },
  }, async (request) => ({
    channel_group: await upsertMgmtChannelGroup(environments, request.params.channel_group_key, request.body.channel_group, deps.clock.now()),
  }));

  app.delete('/v1/channel_groups/:channel_group_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Delete a channel group written through the API, in every environment (Knock mgmt: deleteChannelGroup)',
      params: Type.Object({ channel_group_key: Key }),
    },
  }, async (request, reply) => {
    await deleteMgmtChannelGroup(environments, request.params.channel_group_key);
    return reply.code(204).send();
  });
}
