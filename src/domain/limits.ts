/**
 * Limits on what a caller may send, in one place so the API, the engine and the documentation
 * agree. Each exists because a larger input reached a hard limit further down (PostgreSQL's
 * btree row size, V8's stack in JSON.stringify, memory for per-run copies of trigger data) and
 * failed there as a 500 instead of being refused up front as a 4xx naming the field.
 */

/**
 * Every id and key a caller chooses (users, objects, collections, tenants, channel ids, workflow
 * keys, cancellation keys, schedule/message ids in paths): at most 255 characters, no control
 * characters. One limit for every route, so an id accepted by a trigger can be read and deleted.
 */
export const ID_MAX_LENGTH = 255;

/** Idempotency-Key header: 1–255 visible characters (a longer key used to be truncated). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** JSON bodies may nest objects/arrays at most this deep (the body itself is level 1). */
export const JSON_MAX_DEPTH = 64;

/** Whole request body (trigger data may be up to 10 MB). */
export const BODY_MAX_BYTES = 11 * 1024 * 1024;

/**
 * Trigger data is copied into every recipient's run: the data's size times the number of
 * distinct recipients may not exceed this (10 MB of data for up to 6 recipients, 64 KB for 1,000).
 */
export const TRIGGER_DATA_TOTAL_MAX_BYTES = 64 * 1024 * 1024;

/** Properties sent inline with one recipient, actor or tenant of a trigger (serialised JSON). */
export const INLINE_ENTITY_MAX_BYTES = 256 * 1024;

/** The same rule as a JSON-schema pattern, for the request schemas of ids. */
export const ID_PATTERN = '^[^\\u0000-\\u001f\\u007f]*$';

/** Control characters (C0, DEL): refused in ids, keys and header values used as values. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A UTF-16 surrogate without its pair: PostgreSQL text and jsonb cannot store it. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
