import { Type } from '@sinclair/typebox';
import { Id } from './common.js';
import { CommonIdentifyFields, Nullable } from './identify.js';

/**
 * InlineIdentifyUserRequest: a user's id plus the fields of an identify (users.bulk.identify
 * items, audience members). Custom properties are allowed and merged like PUT /v1/users/{id}.
 */
export const InlineIdentifyUser = Type.Object({
  id: Id,
  ...CommonIdentifyFields,
  email: Type.Optional(Nullable(Type.String())),
  phone_number: Type.Optional(Nullable(Type.String())),
  avatar: Type.Optional(Nullable(Type.String())),
  locale: Type.Optional(Nullable(Type.String())),
  timezone: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true });
