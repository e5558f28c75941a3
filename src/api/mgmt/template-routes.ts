/**
 * Email layouts, partials and translations through Knock's management API (list / get / upsert /
 * validate), and template previews (template-preview.ts). Upserts are uncommitted changes in
 * development, committed and promoted by the content machinery (src/content) like workflows;
 * what renders read is the committed version (template-kinds.ts applyCommitted*).
 *
 * What a read shows: in the editable environment (development) the uncommitted change when there
 * is one (unless `hide_uncommitted_changes`), else the committed version; elsewhere only the
 * committed version. Configured email layouts (HERALD_EMAIL_LAYOUTS) are listed as committed ones.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ApiDeps, App } from '../types.js';
import { errors } from '../../domain/errors.js';
import type { EnvironmentDirectory } from '../../environments/directory.js';
import type { Db } from '../../store/db.js';
import { environmentDb, environmentsOf } from './environments.js';
import { ContentGetQuery, ContentListQuery, EnvironmentQuery, PageInfo } from './schemas.js';
import { contentKind, type ContentType } from '../../content/kinds.js';
import { commitDrafts, editableEnvironment, saveDraft } from '../../content/commits.js';
import { contentSha, deleteDraft, getCommitted, getDraft, listDrafts } from '../../store/content.js';
import { getPartial, listPartials, type PartialRow } from '../../store/partials.js';
import { getTranslation, listTranslations, type TranslationRow } from '../../store/translations.js';
import { getManagedEmailLayout, listManagedEmailLayouts, type ManagedEmailLayoutRow } from '../../store/configured-channels.js';
import {
  mgmtEmailLayout, mgmtPartial, mgmtTranslation, parseTranslationRef, translationRef,
  type EmailLayoutBody, type PartialBody, type TranslationBody,
} from './template-kinds.js';
import './template-kinds-registry.js';
import { registerTemplatePreviewRoutes } from './template-preview.js';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

const ListQuery = ContentListQuery;
const GetQuery = ContentGetQuery;
const UpsertFlags = {
  branch: Type.Optional(Type.String()),
  annotate: Type.Optional(Type.Boolean()),
  force: Type.Optional(Type.Boolean()),
  commit: Type.Optional(Type.Boolean()),
  commit_message: Type.Optional(Type.String({ maxLength: 1000 })),
  allow_empty: Type.Optional(Type.Boolean()),
};
const Entity = Type.Object({}, { additionalProperties: true });

/** Who made a change: the service token's name (Knock's commit author). */
function authorOf(request: FastifyRequest): string | null {
  return request.auth?.kind === 'service_token' ? request.auth.name : null;
}

/** Knock writes content only in development (the first environment); others receive it by promotion. */
function checkEditable(environments: EnvironmentDirectory, environment: string, what: string): void {
  const editable = editableEnvironment(environments);
  if (environment === editable) return;
  throw errors.invalidParams(`${what} only operates on the "${editable}" environment; "${environment}" receives changes by promotion (PUT /v1/commits/promote).`,
    [{ field: 'environment', message: `must be "${editable}"`, type: 'invalid' }]);
}

/** One resource as a read shows it: its body, when it was created and changed, and whether that is an uncommitted change. */
interface Shown<B> { key: string; body: B; createdAt: Date; updatedAt: Date; sha?: string | null }

/** How each of the three kinds is read from its committed table and shown in Knock's shape. */
interface TemplateKindRoutes<B> {
  type: ContentType;
  label: string;
  committed(db: Db, key: string): Promise<Shown<B> | null>;
  allCommitted(db: Db): Promise<Shown<B>[]>;
  out(shown: Shown<B>, environment: string, annotate: boolean): Record<string, unknown>;
}

const partialShown = (r: PartialRow): Shown<PartialBody> => ({
  key: r.key, createdAt: r.created_at, updatedAt: r.updated_at, sha: r.sha,
  body: { key: r.key, type: r.type as PartialBody['type'], name: r.name, description: r.description, content: r.content, input_schema: r.input_schema, icon_name: r.icon_name, visual_block_enabled: r.visual_block_enabled },
});
const translationShown = (r: TranslationRow): Shown<TranslationBody> => ({
  key: translationRef(r.locale_code, r.namespace), createdAt: r.created_at, updatedAt: r.updated_at, sha: r.sha,
  body: { locale_code: r.locale_code, namespace: r.namespace, format: 'json', content: r.content },
});
const layoutShown = (r: ManagedEmailLayoutRow): Shown<EmailLayoutBody> => ({
  key: r.key, createdAt: r.created_at ?? r.updated_at, updatedAt: r.updated_at, sha: r.sha,
  body: { key: r.key, name: r.name ?? r.key, html_layout: r.html_layout ?? '', text_layout: r.text_layout ?? '', footer_links: r.footer_links },
});

/** Reads a whole table a page at a time (these tables are small: keys of content, not data). */
async function every<R>(page: (after: string | undefined) => Promise<R[]>, keyOf: (r: R) => string): Promise<R[]> {
  const out: R[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await page(after);
    out.push(...rows);
    if (rows.length < 500) return out;
    after = keyOf(rows[rows.length - 1]);
  }
}

const PARTIALS: TemplateKindRoutes<PartialBody> = {
  type: 'partial',
  label: 'partial',
  committed: async (db, key) => { const r = await getPartial(db, key); return r && partialShown(r); },
  allCommitted: async (db) => (await every((after) => listPartials(db, { after, limit: 500 }), (r) => r.key)).map(partialShown),
  out: (s, environment, annotate) => ({
    ...mgmtPartial({ ...s.body, created_at: s.createdAt, updated_at: s.updatedAt }, environment),
    ...(annotate ? { __annotation: { extractable_fields: { content: { default: true } }, readonly_fields: ['key', 'valid', 'environment', 'inserted_at', 'updated_at'] } } : {}),
  }),
};

const TRANSLATIONS: TemplateKindRoutes<TranslationBody> = {
  type: 'translation',
  label: 'translation',
  committed: async (db, ref) => {
    const { locale_code, namespace } = parseTranslationRef(ref);
    const r = await getTranslation(db, locale_code, namespace);
    return r && translationShown(r);
  },
  allCommitted: async (db) => (await every((after) => listTranslations(db, {}, { after, limit: 500 }), (r) => `${r.locale_code}\0${r.namespace}`)).map(translationShown),
  out: (s) => mgmtTranslation({ ...s.body, created_at: s.createdAt, updated_at: s.updatedAt }),
};

const LAYOUTS: TemplateKindRoutes<EmailLayoutBody> = {
  type: 'email_layout',
  label: 'email layout',
  committed: async (db, key) => { const r = await getManagedEmailLayout(db, key); return r && layoutShown(r); },
  allCommitted: async (db) => (await every((after) => listManagedEmailLayouts(db, { after, limit: 500 }), (r) => r.key)).map(layoutShown),
  out: (s, environment, annotate) => ({
    ...mgmtEmailLayout({ ...s.body, sha: s.sha ?? undefined, created_at: s.createdAt, updated_at: s.updatedAt }, environment),
    ...(annotate ? {
      __annotation: {
        extractable_fields: { html_layout: { default: true, file_ext: 'html' }, text_layout: { default: true, file_ext: 'txt' } },
        readonly_fields: ['key', 'environment', 'created_at', 'updated_at', 'sha'],
      },
    } : {}),
  }),
};

/** Whether reads in `environment` show uncommitted changes. */
const showsDrafts = (environments: EnvironmentDirectory, environment: string, hide: boolean | undefined) => !hide && environment === editableEnvironment(environments);

async function resolve<B>(kind: TemplateKindRoutes<B>, db: Db, environment: string, key: string, drafts: boolean): Promise<Shown<B> | null> {
  const committed = await kind.committed(db, key);
  if (!drafts) return committed;
  const draft = await getDraft(db, environment, kind.type, key);
  if (!draft) return committed;
  return { key, body: draft.body as B, createdAt: committed?.createdAt ?? draft.createdAt, updatedAt: draft.updatedAt, sha: draft.sha };
}

async function resolveAll<B>(kind: TemplateKindRoutes<B>, db: Db, environment: string, drafts: boolean, order: (a: Shown<B>, b: Shown<B>) => number): Promise<Shown<B>[]> {
  const byKey = new Map((await kind.allCommitted(db)).map((s) => [s.key, s]));
  if (drafts) {
    for (const d of await listDrafts(db, environment, { types: [kind.type] })) {
      const committed = byKey.get(d.key);
      byKey.set(d.key, { key: d.key, body: d.body as B, createdAt: committed?.createdAt ?? d.createdAt, updatedAt: d.updatedAt, sha: d.sha });
    }
  }
  return [...byKey.values()].sort(order);
}

/** Knock's cursor page over a sorted list: `after` / `before` are the keys at the page's edges. */
function paginate<T extends { key: string }>(all: T[], q: { after?: string; before?: string; limit?: number }) {
  const size = Math.min(q.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  let start = 0;
  if (q.after !== undefined) { const i = all.findIndex((x) => x.key === q.after); start = i < 0 ? all.findIndex((x) => x.key > q.after!) : i + 1; if (start < 0) start = all.length; }
  if (q.before !== undefined) { const i = all.findIndex((x) => x.key >= q.before!); const end = i < 0 ? all.length : i; start = Math.max(0, end - size); }
  const entries = all.slice(start, start + size);
  return {
    entries,
    page_info: {
      after: start + size < all.length && entries.length > 0 ? entries[entries.length - 1].key : null,
      before: start > 0 && entries.length > 0 ? entries[0].key : null,
      page_size: size,
    },
  };
}

/** Validates with the kind's one validation; a 422 naming each field otherwise. */
function validated<B>(kind: TemplateKindRoutes<B>, key: string, body: unknown): B {
  const result = contentKind(kind.type).validate(key, body);
  if (!result.ok) throw errors.invalidParams(`The ${kind.label} "${key}" is not valid.`, result.errors);
  return result.value as B;
}

/** Stores `value` as the uncommitted change of (type, key), or drops the change when it equals the committed version; commits when asked. */
async function upsert<B>(kind: TemplateKindRoutes<B>, db: Db, request: FastifyRequest, q: { environment: string; commit?: boolean; commit_message?: string }, key: string, value: B, now: Date): Promise<void> {
  const committed = await getCommitted(db, q.environment, kind.type, key);
  if (committed && committed.source === 'api' && committed.sha === contentSha(value)) await deleteDraft(db, q.environment, kind.type, key);
  else await saveDraft(db, { environment: q.environment, type: kind.type, key, value, author: authorOf(request), now });
  if (q.commit) await commitDrafts(db, { environment: q.environment, types: [kind.type], key, message: q.commit_message ?? '', author: authorOf(request), now });
}

export function registerMgmtTemplateRoutes(app: App, deps: ApiDeps): void {
  const environments = environmentsOf(deps);

  // ---- Partials ----------------------------------------------------------------------------
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  app.get('/v1/partials', {
    config: { auth: 'service_token' },
    schema: { tags: ['management'], summary: 'List partials (Knock mgmt: listPartials)', querystring: ListQuery, response: { 200: Type.Object({ entries: Type.Array(Entity), page_info: PageInfo }) } },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    const page = paginate(await resolveAll(PARTIALS, db, q.environment, showsDrafts(environments, q.environment, q.hide_uncommitted_changes), byKey), q);
    return { entries: page.entries.map((s) => PARTIALS.out(s, q.environment, !!q.annotate)), page_info: page.page_info };
  });

  app.get('/v1/partials/:partial_key', {
    config: { auth: 'service_token' },
    schema: { tags: ['management'], summary: 'Get a partial (Knock mgmt: getPartial)', params: Type.Object({ partial_key: Type.String({ minLength: 1 }) }), querystring: GetQuery, response: { 200: Entity } },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    const shown = await resolve(PARTIALS, db, q.environment, request.params.partial_key, showsDrafts(environments, q.environment, q.hide_uncommitted_changes));
    if (!shown) throw errors.notFound(`The partial "${request.params.partial_key}"`);
    return PARTIALS.out(shown, q.environment, !!q.annotate);
  });

  app.put('/v1/partials/:partial_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Upsert a partial as an uncommitted change in development (Knock mgmt: upsertPartial)',
      params: Type.Object({ partial_key: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, ...UpsertFlags }),
      body: Type.Object({ partial: Type.Unknown() }),
      response: { 200: Type.Object({ partial: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    const key = request.params.partial_key;
    const db = await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Upserting a partial');
    const value = validated(PARTIALS, key, request.body.partial);
    await upsert(PARTIALS, db, request, q, key, value, deps.clock.now());
    return { partial: PARTIALS.out((await resolve(PARTIALS, db, q.environment, key, true))!, q.environment, !!q.annotate) };
  });

  app.put('/v1/partials/:partial_key/validate', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Validate a partial without storing it (Knock mgmt: validatePartial)',
      params: Type.Object({ partial_key: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()) }),
      body: Type.Object({ partial: Type.Unknown() }),
      response: { 200: Type.Object({ partial: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Validating a partial');
    const value = validated(PARTIALS, request.params.partial_key, request.body.partial);
    const now = deps.clock.now();
    return { partial: PARTIALS.out({ key: value.key, body: value, createdAt: now, updatedAt: now }, q.environment, false) };
  });

  // ---- Translations ------------------------------------------------------------------------
  const TranslationQuery = { namespace: Type.Optional(Type.String()), format: Type.Optional(Type.String()), tenant: Type.Optional(Type.String()) };
  const byLocale = (a: Shown<TranslationBody>, b: Shown<TranslationBody>) =>
    (a.body.locale_code < b.body.locale_code ? -1 : a.body.locale_code > b.body.locale_code ? 1 : a.body.namespace < b.body.namespace ? -1 : a.body.namespace > b.body.namespace ? 1 : 0);
  const checkJson = (format: string | undefined) => {
    if (format !== undefined && format !== 'json') throw errors.invalidParams('Herald keeps translations as JSON; the PO format is not supported yet.', [{ field: 'format', message: 'must be "json"', type: 'unsupported' }]);
  };
  const checkNoTenant = (tenant: string | undefined) => {
    if (tenant) throw errors.invalidParams('Per-tenant translations are not supported by Herald yet.', [{ field: 'tenant', message: 'is not supported', type: 'unsupported' }]);
  };

  app.get('/v1/translations', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List translations (Knock mgmt: listTranslations)',
      querystring: Type.Object({ ...ListQuery.properties, locale_code: Type.Optional(Type.String()), ...TranslationQuery }),
      response: { 200: Type.Object({ entries: Type.Array(Entity), page_info: PageInfo }) },
    },
  }, async (request) => {
    const q = request.query;
    checkJson(q.format);
    checkNoTenant(q.tenant);
    const db = await environmentDb(environments, q.environment);
    const all = (await resolveAll(TRANSLATIONS, db, q.environment, showsDrafts(environments, q.environment, q.hide_uncommitted_changes), byLocale))
      .filter((s) => (q.locale_code === undefined || s.body.locale_code === q.locale_code) && (q.namespace === undefined || s.body.namespace === q.namespace));
    const page = paginate(all, q);
    return { entries: page.entries.map((s) => TRANSLATIONS.out(s, q.environment, false)), page_info: page.page_info };
  });

  app.get('/v1/translations/:locale_code', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a translation (Knock mgmt: getTranslation)',
      params: Type.Object({ locale_code: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ ...GetQuery.properties, ...TranslationQuery }),
      response: { 200: Entity },
    },
  }, async (request) => {
    const q = request.query;
    checkJson(q.format);
    checkNoTenant(q.tenant);
    const db = await environmentDb(environments, q.environment);
    const ref = translationRef(request.params.locale_code, q.namespace ?? '');
    const shown = await resolve(TRANSLATIONS, db, q.environment, ref, showsDrafts(environments, q.environment, q.hide_uncommitted_changes));
    if (!shown) throw errors.notFound(`The translation "${ref}"`);
    const translation = TRANSLATIONS.out(shown, q.environment, false);
    // The spec wraps it (`{translation}`, as @knocklabs/mgmt reads it); knock-cli's pull reads
    // the fields at the top level. Both are answered.
    return { ...translation, translation };
  });

  app.put('/v1/translations/:locale_code', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Upsert a translation as an uncommitted change in development (Knock mgmt: upsertTranslation)',
      params: Type.Object({ locale_code: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, ...UpsertFlags, ...TranslationQuery }),
      body: Type.Object({ translation: Type.Unknown() }),
      response: { 200: Type.Object({ translation: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    checkJson(q.format);
    checkNoTenant(q.tenant);
    const db = await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Upserting a translation');
    const ref = translationRef(request.params.locale_code, q.namespace ?? '');
    const value = validated(TRANSLATIONS, ref, request.body.translation);
    await upsert(TRANSLATIONS, db, request, q, ref, value, deps.clock.now());
    return { translation: TRANSLATIONS.out((await resolve(TRANSLATIONS, db, q.environment, ref, true))!, q.environment, false) };
  });

  app.put('/v1/translations/:locale_code/validate', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Validate a translation without storing it (Knock mgmt: validateTranslation)',
      params: Type.Object({ locale_code: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()), ...TranslationQuery }),
      body: Type.Object({ translation: Type.Unknown() }),
      response: { 200: Type.Object({ translation: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    checkJson(q.format);
    checkNoTenant(q.tenant);
    await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Validating a translation');
    const ref = translationRef(request.params.locale_code, q.namespace ?? '');
    const value = validated(TRANSLATIONS, ref, request.body.translation);
    const now = deps.clock.now();
    return { translation: TRANSLATIONS.out({ key: ref, body: value, createdAt: now, updatedAt: now }, q.environment, false) };
  });

  // ---- Email layouts -----------------------------------------------------------------------
  app.get('/v1/email_layouts', {
    config: { auth: 'service_token' },
    schema: { tags: ['management'], summary: 'List email layouts (Knock mgmt: listEmailLayouts)', querystring: ListQuery, response: { 200: Type.Object({ entries: Type.Array(Entity), page_info: PageInfo }) } },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    const page = paginate(await resolveAll(LAYOUTS, db, q.environment, showsDrafts(environments, q.environment, q.hide_uncommitted_changes), byKey), q);
    return { entries: page.entries.map((s) => LAYOUTS.out(s, q.environment, !!q.annotate)), page_info: page.page_info };
  });

  app.get('/v1/email_layouts/:email_layout_key', {
    config: { auth: 'service_token' },
    schema: { tags: ['management'], summary: 'Get an email layout (Knock mgmt: getEmailLayout)', params: Type.Object({ email_layout_key: Type.String({ minLength: 1 }) }), querystring: GetQuery, response: { 200: Entity } },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    const shown = await resolve(LAYOUTS, db, q.environment, request.params.email_layout_key, showsDrafts(environments, q.environment, q.hide_uncommitted_changes));
    if (!shown) throw errors.notFound(`The email layout "${request.params.email_layout_key}"`);
    return LAYOUTS.out(shown, q.environment, !!q.annotate);
  });

  app.put('/v1/email_layouts/:email_layout_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Upsert an email layout as an uncommitted change in development (Knock mgmt: upsertEmailLayout)',
      params: Type.Object({ email_layout_key: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, ...UpsertFlags }),
      body: Type.Object({ email_layout: Type.Unknown() }),
      response: { 200: Type.Object({ email_layout: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    const key = request.params.email_layout_key;
    const db = await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Upserting an email layout');
    const value = validated(LAYOUTS, key, request.body.email_layout);
    await upsert(LAYOUTS, db, request, q, key, value, deps.clock.now());
    return { email_layout: LAYOUTS.out((await resolve(LAYOUTS, db, q.environment, key, true))!, q.environment, !!q.annotate) };
  });

  app.put('/v1/email_layouts/:email_layout_key/validate', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Validate an email layout without storing it (Knock mgmt: validateEmailLayout)',
      params: Type.Object({ email_layout_key: Type.String({ minLength: 1 }) }),
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()) }),
      body: Type.Object({ email_layout: Type.Unknown() }),
      response: { 200: Type.Object({ email_layout: Entity }) },
    },
  }, async (request) => {
    const q = request.query;
    await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Validating an email layout');
    const value = validated(LAYOUTS, request.params.email_layout_key, request.body.email_layout);
    const now = deps.clock.now();
    return { email_layout: LAYOUTS.out({ key: value.key, body: value, createdAt: now, updatedAt: now, sha: '' }, q.environment, false) };
  });

  registerTemplatePreviewRoutes(app, deps, environments);
}
