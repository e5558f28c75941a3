import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CursorQuery, Id } from './common.js';

/*
 * Request schemas shared by the user, object and tenant routes (they all take the same inline
 * identify fields and channel data bodies).
 */

/** `type: [t, 'null']` rather than anyOf: ajv's type coercion would turn null into "" inside anyOf. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

export const AnyObject = Type.Object({}, { additionalProperties: true });
/** `{channel id or key: data}`; null data unsets that channel. */
export const InlineChannelData = Type.Record(Type.String(), Nullable(AnyObject), { description: 'Channel id or key → channel data; merged by channel', propertyNames: Id });
/** `{preference set id: PreferenceSetRequest}`; deep-merged into the stored sets. */
export const InlinePreferences = Type.Record(Type.String(), Nullable(AnyObject), { description: 'Preference set id → set; deep-merged', propertyNames: Id });

export const CommonIdentifyFields = {
  name: Type.Optional(Nullable(Type.String())),
  created_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  channel_data: Type.Optional(Nullable(InlineChannelData)),
  preferences: Type.Optional(Nullable(InlinePreferences)),
};

export const ChannelDataBody = Type.Object({ data: AnyObject });

// The node SDK sends `include[]=preferences`; a bare `include=preferences` is accepted too.
export const ListQuery = Type.Composite([CursorQuery, Type.Object({
  include: Type.Optional(Type.Union([Type.Array(Type.Literal('preferences')), Type.Literal('preferences')])),
})]);

