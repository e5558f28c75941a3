/**
 * Preference sets and the decision whether a channel step may send (reference §3.5, §5.11).
 * Pure: conditions are evaluated against a scope and clock passed in.
 *
 * Layers are given highest precedence FIRST. A layer's `name` is the human-readable name
 * of the set; reasons read `blocked by the <name>: …`, so callers pass names such as:
 *   - `recipient's "acme" preference set`   (the recipient's set whose id is the tenant id)
 *   - `recipient's "default" preference set`
 *   - `tenant "acme" default preferences`    (`tenant.settings.preference_set`)
 *   - `environment default preferences`
 * Absent sets (`null`/`undefined`) are skipped, so the no-tenant hierarchy falls out of
 * passing nulls for the tenant layers.
 *
 * Merge rules (`mergePreferenceLayers`):
 * - Only `workflows`, `categories`, `channel_types`, `channels` and `commercial_subscribed`
 *   are merged; `id` and `__persistence_strategy__` are request/storage details.
 * - Deep merge by key, the higher layer winning. Plain objects merge key by key; any other
 *   value (boolean, `conditions` list) replaces the whole subtree below it.
 * - An object carrying `__strategy__: "replace"` in a lower layer (the tenant defaults) wins
 *   over every higher layer for that key, unless the higher value is itself marked
 *   `"replace"`. The marker is kept in the merged output (the user-facing GET shows it).
 *
 * Decision rules (`decidePreferences`), all on the merged set:
 * 1. `overridePreferences` → allowed.
 * 2. Commercial workflows: `commercial_subscribed` false, or its conditions failing, blocks.
 * 3. `workflows[key]` and then EVERY category in `categories[c]`: `false` blocks; an object
 *    blocks when its `conditions` fail, and its nested `channels`/`channel_types` are checked
 *    like the top-level ones (rule 4) — so a `false` there narrows the setting to a channel.
 * 4. Top-level channel check: `channels[channel.id]` when set, otherwise
 *    `channel_types[channel.type]`; the channel setting fully takes precedence over the type
 *    (at every level). `false` blocks; `{conditions}` blocks when a condition fails.
 * Every applicable preference must allow (a `false` category wins over a `true` channel, and a
 * workflow-level `true` does not lift a top-level `false`). Anything unset is opted in.
 */
import { evaluateConditions, type ConditionScope } from './conditions.js';
import type { Condition } from './condition-types.js';

export type PreferenceStrategy = 'replace' | 'merge';

export const CHANNEL_TYPES = ['email', 'sms', 'push', 'chat', 'in_app_feed', 'http'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** `{conditions}` in place of a boolean: allows only when every condition passes. */
export interface ConditionsSetting {
  conditions: Condition[];
  __strategy__?: PreferenceStrategy;
}

/** A `channel_types`, `channels` or `commercial_subscribed` entry. */
export type ChannelSetting = boolean | ConditionsSetting;

export type ChannelTypeSettings = Partial<Record<ChannelType, ChannelSetting>>;
export type ChannelSettings = Record<string, ChannelSetting>;

/** A `workflows` or `categories` setting object. */
export interface WorkflowSettingObject {
  channel_types?: ChannelTypeSettings | null;
  channels?: ChannelSettings | null;
  conditions?: Condition[] | null;
  __strategy__?: PreferenceStrategy;
}

export type WorkflowSetting = boolean | WorkflowSettingObject;

export interface PreferenceSet {
  id?: string;
  workflows?: Record<string, WorkflowSetting> | null;
  categories?: Record<string, WorkflowSetting> | null;
  channel_types?: ChannelTypeSettings | null;
  channels?: ChannelSettings | null;
  commercial_subscribed?: ChannelSetting | null;
}

export interface PreferenceLayer {
  /** Human-readable name of the set, used verbatim in reasons (see the module comment). */
  name: string;
  /** Stored JSON is accepted as is; malformed entries are ignored rather than trusted. */
  set: PreferenceSet | Readonly<Record<string, unknown>> | null | undefined;
}

export interface PreferenceDecision {
  allowed: boolean;
  /** A sentence for run events and the API, naming the layer and key that decided. */
  reason: string;
  /** The `name` of the layer whose value decided (for blocks, and single-source allows). */
  layer?: string;
  /** Dotted path of the decisive value, e.g. `workflows.welcome` or `channel_types.email`. */
  key?: string;
}

export interface MergedPreferences {
  set: PreferenceSet;
  /** Which layer supplied the value at each path (`sourceOf(['workflows', 'welcome'])`). */
  sourceOf: (path: readonly string[]) => string | undefined;
}

export interface PreferenceDecisionInput {
  layers: readonly PreferenceLayer[];
  workflow: { key: string; categories?: readonly string[]; isCommercial?: boolean; overridePreferences?: boolean };
  channel: { id: string; type: string };
  scope: ConditionScope;
  now: Date;
}

const MERGED_KEYS = ['workflows', 'categories', 'channel_types', 'channels', 'commercial_subscribed'] as const;
const SEP = '\u001f';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isReplace(v: unknown): boolean {
  return isObj(v) && v.__strategy__ === 'replace';
}

function own(map: unknown, key: string): unknown {
  return isObj(map) && Object.hasOwn(map, key) ? map[key] : undefined;
}

function clone(v: unknown): unknown {
  return v === undefined ? undefined : (structuredClone(v) as unknown);
}

/** The merged set (highest precedence first), keeping `__strategy__` markers. */
export function mergePreferenceLayers(layers: readonly PreferenceLayer[]): PreferenceSet {
  return mergePreferenceLayersWithSources(layers).set;
}

/** Like `mergePreferenceLayers`, plus which layer each value came from. */
export function mergePreferenceLayersWithSources(layers: readonly PreferenceLayer[]): MergedPreferences {
  const sources = new Map<string, string>();
  const merged: Obj = {};

  const record = (path: string[], value: unknown, layer: string): void => {
    const k = path.join(SEP);
    for (const existing of [...sources.keys()]) if (existing.startsWith(k + SEP)) sources.delete(existing);
    sources.set(k, layer);
    if (isObj(value)) for (const [child, v] of Object.entries(value)) record([...path, child], v, layer);
  };

  // Returns the new value at `path` given the accumulated (lower-precedence) value.
  const mergeInto = (acc: unknown, incoming: unknown, path: string[], layer: string): unknown => {
    if (incoming === undefined || incoming === null) return acc;
    if (isReplace(acc) && !isReplace(incoming)) return acc; // a lower "replace" is locked in
    if (isObj(acc) && isObj(incoming) && !isReplace(incoming)) {
      const out: Obj = { ...acc };
      sources.set(path.join(SEP), layer);
      for (const [k, v] of Object.entries(incoming)) {
        const next = mergeInto(out[k], v, [...path, k], layer);
        if (next !== undefined) out[k] = next;
      }
      return out;
    }
    const value = clone(incoming);
    record(path, value, layer);
    return value;
  };

  // Lowest precedence first, so each higher layer lands on what the lower ones built.
  for (const { name, set } of [...layers].reverse()) {
    if (!isObj(set)) continue;
    for (const key of MERGED_KEYS) {
      const next = mergeInto(merged[key], set[key], [key], name);
      if (next !== undefined) merged[key] = next;
    }
  }

  return { set: merged as PreferenceSet, sourceOf: (path) => sources.get(path.join(SEP)) };
}

interface Block {
  key: string;
  layer: string | undefined;
  what: string;
}

/** Decides whether `channel` may send for `workflow` (see the module comment for the rules). */
export function decidePreferences(input: PreferenceDecisionInput): PreferenceDecision {
  if (input.workflow.overridePreferences) return overridden(input.workflow.key);
  return decideOnMerged(input, mergePreferenceLayersWithSources(input.layers));
}

/**
 * The decision with everything needed to explain it: the layers consulted (highest first, absent
 * ones with `set: null`) and the merged set it was taken on. The explanation endpoint answers
 * this and a skipped channel step records it on its run event, so the two always agree.
 */
export interface PreferenceExplanation {
  allowed: boolean;
  reason: string;
  /** The layer and dotted key whose value decided; null when no preference applies. */
  decided_by: { layer: string | null; key: string } | null;
  layers: { name: string; set: Readonly<Record<string, unknown>> | null }[];
  merged: PreferenceSet;
}

export function explainPreferences(input: PreferenceDecisionInput): PreferenceExplanation {
  // Most recipients have no preference set in any layer: then nothing can block or allow, and
  // merging and walking empty sets only made garbage (twice per channel step of every run).
  const merged = input.layers.some((l) => isObj(l.set)) ? mergePreferenceLayersWithSources(input.layers) : null;
  const decision = input.workflow.overridePreferences ? overridden(input.workflow.key)
    : merged ? decideOnMerged(input, merged) : NO_PREFERENCE_APPLIES;
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    decided_by: decision.key === undefined ? null : { layer: decision.layer ?? null, key: decision.key },
    layers: input.layers.map(({ name, set }) => ({ name, set: isObj(set) ? set : null })),
    merged: merged?.set ?? {},
  };
}

/** The decision when no layer says anything about the workflow, its categories or the channel. */
const NO_PREFERENCE_APPLIES: PreferenceDecision = Object.freeze({ allowed: true, reason: 'allowed: no preference applies' });

/** The pseudo-layer named when `override_preferences` decides. */
export const WORKFLOW_SETTINGS_LAYER = 'workflow settings';

function overridden(workflowKey: string): PreferenceDecision {
  return {
    allowed: true,
    reason: `allowed: workflow "${workflowKey}" sets override_preferences, so preferences are ignored`,
    layer: WORKFLOW_SETTINGS_LAYER,
    key: 'settings.override_preferences',
  };
}

function decideOnMerged(input: PreferenceDecisionInput, merged: MergedPreferences): PreferenceDecision {
  const { workflow, channel, scope, now } = input;
  const { set, sourceOf } = merged;
  const allows: { key: string; layer: string | undefined; what: string }[] = [];

  const conditionsPass = (conditions: unknown): boolean =>
    !Array.isArray(conditions) || evaluateConditions(conditions as Condition[], scope, now);

  /** A boolean or `{conditions}` leaf (channel, channel type, commercial_subscribed). */
  const checkLeaf = (value: unknown, path: string[], allowNote?: string): Block | undefined => {
    const key = path.join('.');
    if (value === false) return { key, layer: sourceOf(path), what: `${key} is false` };
    if (value === true) {
      allows.push({ key, layer: sourceOf(path), what: `${key} is true${allowNote ?? ''}` });
      return undefined;
    }
    if (isObj(value) && Array.isArray(value.conditions)) {
      const condPath = [...path, 'conditions'];
      const layer = sourceOf(condPath) ?? sourceOf(path);
      if (!conditionsPass(value.conditions)) return { key, layer, what: `the conditions on ${key} did not pass` };
      if (value.conditions.length > 0) allows.push({ key, layer, what: `the conditions on ${key} passed${allowNote ?? ''}` });
    }
    return undefined;
  };

  /** Channel beats channel type: the type is only looked at when the channel is unset. */
  const checkChannel = (owner: unknown, prefix: string[]): Block | undefined => {
    const byId = own(own(owner, 'channels'), channel.id);
    const byType = own(own(owner, 'channel_types'), channel.type);
    if (byId !== undefined && byId !== null) {
      const typeKey = [...prefix, 'channel_types', channel.type].join('.');
      const note = byType !== undefined && byType !== null ? ` (a channel setting takes precedence over ${typeKey})` : undefined;
      return checkLeaf(byId, [...prefix, 'channels', channel.id], note);
    }
    if (byType !== undefined && byType !== null) return checkLeaf(byType, [...prefix, 'channel_types', channel.type]);
    return undefined;
  };

  /** A `workflows` / `categories` entry: boolean, or object with conditions and nested channels. */
  const checkSetting = (value: unknown, path: string[]): Block | undefined => {
    if (value === true || value === false) return checkLeaf(value, path);
    if (!isObj(value)) return undefined;
    return checkLeaf({ conditions: value.conditions }, path) ?? checkChannel(value, path);
  };

  const blocks = (): Block | undefined => {
    if (workflow.isCommercial) {
      const b = checkLeaf(own(set, 'commercial_subscribed'), ['commercial_subscribed']);
      if (b) return { ...b, what: `${b.what} and workflow "${workflow.key}" is commercial` };
    }
    const w = checkSetting(own(set.workflows, workflow.key), ['workflows', workflow.key]);
    if (w) return w;
    for (const category of workflow.categories ?? []) {
      const c = checkSetting(own(set.categories, category), ['categories', category]);
      if (c) return c;
    }
    return checkChannel(set, []);
  };

  const block = blocks();
  if (block) {
    const where = block.layer === undefined ? 'the merged preferences' : `the ${block.layer}`;
    return { allowed: false, reason: `blocked by ${where}: ${block.what}`, layer: block.layer, key: block.key };
  }
  if (allows.length === 0) return NO_PREFERENCE_APPLIES;
  const parts = allows.map((a) => (a.layer === undefined ? a.what : `${a.what} in the ${a.layer}`));
  const decisive = allows[allows.length - 1];
  return { allowed: true, reason: `allowed: ${parts.join('; ')}`, layer: decisive.layer, key: decisive.key };
}
