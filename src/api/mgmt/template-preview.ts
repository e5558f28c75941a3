/**
 * Template previews (Knock mgmt: previewTemplate, previewPartial, previewEmailLayout,
 * previewWorkflowTemplate): a template rendered for a given recipient, actor, tenant and data,
 * with the environment's layouts, partials and translations, and nothing run, stored or sent.
 * Renders go through the same render processes and bounds as a run's. In the editable
 * environment (development) uncommitted partials, translations and layouts are used, so a
 * change can be previewed before it is committed.
 *
 * A template that fails to render answers 200 with `result: "error"` and the errors (field and
 * reason), as the spec's response shape has it.
 */
import { Type } from '@sinclair/typebox';
import type { ApiDeps, App } from '../types.js';
import { errors } from '../../domain/errors.js';
import type { EnvironmentDirectory } from '../../environments/directory.js';
import { TENANTS, USERS, type EntityKey } from '../../domain/recipients.js';
import type { Db } from '../../store/db.js';
import { environmentDb } from './environments.js';
import { EnvironmentQuery } from './schemas.js';
import { editableEnvironment } from '../../content/commits.js';
import { getDraft, listDrafts } from '../../store/content.js';
import { getEntity } from '../../store/entities.js';
import { findChannel } from '../../store/channels.js';
import { getWorkflowHead, getWorkflowVersion } from '../../store/workflows.js';
import { allPartialContents } from '../../store/partials.js';
import { allTranslationContents } from '../../store/translations.js';
import { getManagedEmailLayout } from '../../store/configured-channels.js';
import { templateContent, type TemplateContent } from '../../templates/content.js';
import { renderFields, renderString, TemplateRenderError, type LiquidScope } from '../../templates/liquid.js';
import { renderEmail } from '../../templates/email.js';
import { renderInAppFeed } from '../../templates/in-app-feed.js';
import { renderSms } from '../../templates/sms.js';
import { renderPush } from '../../templates/push.js';
import { renderChat } from '../../templates/chat.js';
import { renderWebhook } from '../../templates/webhook.js';
import type { EmailLayoutBody, PartialBody, TranslationBody } from './template-kinds.js';

const Recipient = Type.Union([Type.String({ minLength: 1 }), Type.Object({ id: Type.String({ minLength: 1 }), collection: Type.String({ minLength: 1 }) }, { additionalProperties: true })]);
const PreviewQuery = Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()) });
const Data = Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]));
const Entity = Type.Object({}, { additionalProperties: true });
const RenderErrors = Type.Optional(Type.Array(Type.Object({ field: Type.Union([Type.String(), Type.Null()]), message: Type.String(), line: Type.Union([Type.Integer(), Type.Null()]) })));

type RecipientRef = string | { id: string; collection: string };

/** The environment's partials and translations for a preview: committed, with uncommitted changes over them in development. */
async function previewContent(db: Db, environment: string, drafts: boolean, defaultLocale?: string): Promise<TemplateContent> {
  const [partials, translations] = await Promise.all([allPartialContents(db), allTranslationContents(db)]);
  if (!drafts) return templateContent(partials, translations, defaultLocale);
  const p = new Map(partials.map((r) => [r.key, r]));
  const t = new Map(translations.map((r) => [`${r.namespace}.${r.locale_code}`, r]));
  for (const d of await listDrafts(db, environment, { types: ['partial', 'translation'] })) {
    if (d.type === 'partial') { const b = d.body as PartialBody; p.set(d.key, { key: d.key, type: b.type, content: b.content }); }
    else { const b = d.body as TranslationBody; t.set(`${b.namespace}.${b.locale_code}`, { locale_code: b.locale_code, namespace: b.namespace, content: b.content }); }
  }
  return templateContent(p.values(), t.values(), defaultLocale);
}

/** An entity as templates see it (run-scope.ts's flattening): its properties, id, and collection for objects. */
async function entityScope(db: Db, key: EntityKey): Promise<Record<string, unknown>> {
  const row = await getEntity(db, key);
  const out: Record<string, unknown> = { ...(row?.properties ?? {}), id: key.id };
  if (key.collection !== USERS) out.collection = key.collection;
  return out;
}

const entityKey = (ref: RecipientRef): EntityKey => (typeof ref === 'string' ? { collection: USERS, id: ref } : { collection: ref.collection, id: ref.id });

async function previewScope(db: Db, b: { recipient: RecipientRef; actor?: RecipientRef | null; tenant?: string | null; data?: Record<string, unknown> | null }, workflow: { key: string; name?: string; categories?: string[] } | null): Promise<LiquidScope & { recipient: Record<string, unknown> }> {
  return {
    data: b.data ?? {},
    recipient: await entityScope(db, entityKey(b.recipient)),
    actor: b.actor ? await entityScope(db, entityKey(b.actor)) : null,
    tenant: b.tenant ? await entityScope(db, { collection: TENANTS, id: b.tenant }) : null,
    vars: {},
    workflow: workflow ? { id: workflow.key, key: workflow.key, name: workflow.name ?? workflow.key, categories: workflow.categories ?? [], cancellation_key: null } : null,
  };
}

/** A layout by key as a preview sees it (an uncommitted change in development first). */
async function layoutByKey(db: Db, environment: string, key: string, drafts: boolean): Promise<{ html: string | null; text: string | null } | null> {
  if (drafts) {
    const draft = await getDraft(db, environment, 'email_layout', key);
    if (draft) { const b = draft.body as EmailLayoutBody; return { html: b.html_layout, text: b.text_layout }; }
  }
  const row = await getManagedEmailLayout(db, key);
  return row ? { html: row.html_layout, text: row.text_layout } : null;
}

type Rendered = { content_type: string; template: Record<string, unknown> };

/** Renders a channel template as a message would be; the answer in the preview's `template` shape. */
async function renderPreview(channelType: string, template: Record<string, unknown>, scope: LiquidScope & { recipient: Record<string, unknown> }, content: TemplateContent, layout: { html: string | null; text: string | null } | null): Promise<Rendered> {
  switch (channelType) {
    case 'email': {
      const email = await renderEmail(template, null, scope, { settings: {}, to: typeof scope.recipient.email === 'string' ? scope.recipient.email : '', layout, content });
      return { content_type: 'email', template: { subject: email.subject_line, html_body: email.html_body, text_body: email.text_body, settings: template.settings ?? {} } };
    }
    case 'in_app_feed': {
      const blocks = await renderInAppFeed({ markdown_body: typeof template.markdown_body === 'string' ? template.markdown_body : '', action_url: template.action_url as string | null, action_buttons: template.action_buttons as never }, scope, content);
      const body = blocks.find((b) => b.name === 'body') as { content: string; rendered: string } | undefined;
      const url = blocks.find((b) => b.name === 'action_url') as { content: string } | undefined;
      const buttons = blocks.find((b) => b.name === 'actions') as { buttons: { label: string; action: string }[] } | undefined;
      return { content_type: 'in_app_feed', template: { markdown_body: body?.content ?? '', action_url: url?.content ?? null, action_buttons: (buttons?.buttons ?? []).map((x) => ({ label: x.label, action: x.action })), blocks } };
    }
    case 'sms': {
      const sms = await renderSms(template, scope, typeof scope.recipient.phone_number === 'string' ? scope.recipient.phone_number : '', content);
      return { content_type: 'sms', template: { text_body: sms.body, settings: template.settings ?? null } };
    }
    case 'push': {
      const push = await renderPush(template, scope, [], 'preview', content);
      return { content_type: 'push', template: { title: push.title, text_body: push.body, settings: template.settings ?? { delivery_type: push.delivery_type } } };
    }
    case 'chat': {
      const chat = await renderChat(template, scope, [], content);
      return { content_type: 'chat', template: { markdown_body: chat.template.blocks[0]?.content ?? '', summary: chat.template.summary, json_body: chat.template.json_content === null ? null : JSON.stringify(chat.template.json_content) } };
    }
    case 'http': {
      const request = await renderWebhook(template, scope, content);
      return { content_type: 'http', template: { ...request } };
    }
    default:
      throw errors.invalidParams(`Channel type "${channelType}" cannot be previewed.`, [{ field: 'channel_type', message: 'must be one of email, in_app_feed, sms, push, chat', type: 'invalid' }]);
  }
}

/** A render failure as the spec's `errors` entry; anything else is not the template's and is thrown. */
function renderErrors(err: unknown): { field: string | null; message: string; line: number | null }[] {
  if (err instanceof TemplateRenderError || (err instanceof Error && /did not render to|must render to/.test(err.message))) {
    const line = /line:(\d+)/.exec(err.message);
    return [{ field: (err as TemplateRenderError).field ?? null, message: err.message, line: line ? Number(line[1]) : null }];
  }
  throw err;
}

interface StepLike { ref?: string; type?: string; channel_key?: string | null; channel_type?: string | null; template?: Record<string, unknown>; steps?: StepLike[]; branches?: { steps?: StepLike[] }[] }

/** The step `ref` anywhere in the workflow (inside branches too). */
function findStep(steps: StepLike[] | undefined, ref: string): StepLike | null {
  for (const step of steps ?? []) {
    if (step.ref === ref) return step;
    for (const branch of step.branches ?? []) {
      const found = findStep(branch.steps, ref);
      if (found) return found;
    }
    const nested = findStep(step.steps, ref);
    if (nested) return nested;
  }
  return null;
}

export function registerTemplatePreviewRoutes(app: App, deps: Pick<ApiDeps, 'db' | 'defaultLocale'>, environments: EnvironmentDirectory): void {
  const drafts = (environment: string) => environment === editableEnvironment(environments);

  app.post('/v1/templates/preview', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Preview a template (Knock mgmt: previewTemplate)',
      querystring: PreviewQuery,
      body: Type.Object({
        channel_type: Type.Union(['email', 'sms', 'push', 'chat', 'in_app_feed'].map((t) => Type.Literal(t))),
        template: Type.Object({}, { additionalProperties: true }),
        recipient: Recipient,
        actor: Type.Optional(Type.Union([Recipient, Type.Null()])),
        tenant: Type.Optional(Type.Union([Type.String({ pattern: '^\\S+$' }), Type.Null()])),
        data: Data,
        layout: Type.Optional(Type.Union([Type.Object({
          key: Type.Optional(Type.Union([Type.String(), Type.Null()])),
          html_content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
          text_content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        }), Type.Null()])),
        workflow: Type.Optional(Type.Union([Type.Object({ key: Type.String(), categories: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])) }, { additionalProperties: true }), Type.Null()])),
      }),
      response: { 200: Type.Object({ result: Type.Union([Type.Literal('success'), Type.Literal('error')]), content_type: Type.String(), template: Type.Optional(Entity), errors: RenderErrors }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    const b = request.body;
    const db = await environmentDb(environments, environment);
    const withDrafts = drafts(environment);
    const [content, scope] = await Promise.all([
      previewContent(db, environment, withDrafts, deps.defaultLocale),
      previewScope(db, b, b.workflow ? { key: b.workflow.key, categories: b.workflow.categories ?? [] } : null),
    ]);
    let layout: { html: string | null; text: string | null } | null = null;
    if (b.channel_type === 'email') {
      if (b.layout?.html_content != null || b.layout?.text_content != null) layout = { html: b.layout.html_content ?? null, text: b.layout.text_content ?? null };
      else {
        const key = b.layout?.key ?? (((b.template as Record<string, unknown>).settings as { layout_key?: unknown } | undefined)?.layout_key as string | undefined);
        if (typeof key === 'string' && key !== '') {
          layout = await layoutByKey(db, environment, key, withDrafts);
          if (!layout && key !== 'default') throw errors.invalidParams(`No email layout "${key}" exists in "${environment}".`, [{ field: 'layout.key', message: 'is not an email layout of this environment', type: 'invalid' }]);
        }
      }
    }
    try {
      return { result: 'success' as const, ...await renderPreview(b.channel_type, b.template, scope, content, layout) };
    } catch (err) {
      return { result: 'error' as const, content_type: b.channel_type, errors: renderErrors(err) };
    }
  });

  app.post('/v1/workflows/:workflow_key/steps/:step_ref/preview_template', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Preview a workflow step\'s template (Knock mgmt: previewWorkflowTemplate)',
      params: Type.Object({ workflow_key: Type.String({ minLength: 1 }), step_ref: Type.String({ minLength: 1 }) }),
      querystring: PreviewQuery,
      body: Type.Object({ recipient: Recipient, actor: Type.Optional(Type.Union([Recipient, Type.Null()])), tenant: Type.Optional(Type.Union([Type.String({ pattern: '^\\S+$' }), Type.Null()])), data: Data }),
      response: { 200: Type.Object({ result: Type.Union([Type.Literal('success'), Type.Literal('error')]), content_type: Type.String(), template: Entity, errors: RenderErrors }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    const { workflow_key: key, step_ref: ref } = request.params;
    const db = await environmentDb(environments, environment);
    const withDrafts = drafts(environment);
    // The version a trigger would run, or in development the uncommitted change when there is one.
    const draft = withDrafts ? await getDraft(db, environment, 'workflow', key) : null;
    const head = draft ? null : await getWorkflowHead(db, key);
    const def = (draft?.body ?? (head ? await getWorkflowVersion(db, head.sha) : null)) as { key?: string; name?: string; categories?: string[]; steps?: StepLike[] } | null;
    if (!def) throw errors.notFound(`The workflow "${key}"`);
    const step = findStep(def.steps, ref);
    if (!step) throw errors.notFound(`The step "${ref}" of workflow "${key}"`);
    let channelType = step.channel_type ?? null;
    if (!channelType && step.channel_key) channelType = (await findChannel(db, step.channel_key))?.type ?? null;
    if (step.type !== 'channel' || !channelType) {
      throw errors.invalidParams(`The step "${ref}" is not a channel step with a configured channel, so it has no template to preview.`, [{ field: 'step_ref', message: 'must name a channel step', type: 'invalid' }]);
    }
    const template = step.template ?? {};
    const [content, scope] = await Promise.all([previewContent(db, environment, withDrafts, deps.defaultLocale), previewScope(db, request.body, { key, name: def.name, categories: def.categories })]);
    let layout: { html: string | null; text: string | null } | null = null;
    const layoutKey = (template.settings as { layout_key?: unknown } | undefined)?.layout_key;
    if (channelType === 'email' && typeof layoutKey === 'string' && layoutKey !== '') layout = await layoutByKey(db, environment, layoutKey, withDrafts);
    try {
      return { result: 'success' as const, ...await renderPreview(channelType, template, scope, content, layout) };
    } catch (err) {
      return { result: 'error' as const, content_type: channelType, template: {}, errors: renderErrors(err) };
    }
  });

  app.post('/v1/partials/preview', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Preview a partial (Knock mgmt: previewPartial)',
      querystring: PreviewQuery,
      body: Type.Object({
        partial: Type.Object({ type: Type.String(), name: Type.Optional(Type.String()), content: Type.String() }, { additionalProperties: true }),
        data: Data,
        layout: Type.Optional(Type.Union([Type.Object({ key: Type.Optional(Type.Union([Type.String(), Type.Null()])) }), Type.Null()])),
      }),
      response: { 200: Type.Object({ result: Type.Union([Type.Literal('success'), Type.Literal('error')]), type: Type.String(), content: Type.Optional(Type.Union([Type.String(), Type.Null()])), errors: Type.Optional(Type.Array(Type.Object({ field: Type.Union([Type.String(), Type.Null()]), message: Type.String() }))) }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    const { partial, data, layout: layoutRef } = request.body;
    const db = await environmentDb(environments, environment);
    const withDrafts = drafts(environment);
    const content = await previewContent(db, environment, withDrafts, deps.defaultLocale);
    // The data's top-level keys are the partial's variables.
    const scope = { ...(data ?? {}) } as LiquidScope;
    try {
      let text = (await renderFields({ content: { source: partial.content, escapeOutput: partial.type === 'html' } }, scope, content)).content;
      if (partial.type === 'html' && layoutRef?.key) {
        const layout = await layoutByKey(db, environment, layoutRef.key, withDrafts);
        if (!layout) throw errors.invalidParams(`No email layout "${layoutRef.key}" exists in "${environment}".`, [{ field: 'layout.key', message: 'is not an email layout of this environment', type: 'invalid' }]);
        if (layout.html) text = await renderString(layout.html, { ...scope, content: text } as LiquidScope, 'layout.html_layout', { content });
      }
      return { result: 'success' as const, type: partial.type, content: text };
    } catch (err) {
      return { result: 'error' as const, type: partial.type, errors: renderErrors(err).map(({ field, message }) => ({ field: field === 'content' ? 'partial.content' : field, message })) };
    }
  });

  app.post('/v1/email_layouts/preview', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Preview an email layout (Knock mgmt: previewEmailLayout)',
      querystring: PreviewQuery,
      body: Type.Object({
        email_layout: Type.Object({ html_layout: Type.String(), text_layout: Type.String(), name: Type.Optional(Type.String()) }, { additionalProperties: true }),
        recipient: Recipient,
        actor: Type.Optional(Type.Union([Recipient, Type.Null()])),
        tenant: Type.Optional(Type.Union([Type.String({ pattern: '^\\S+$' }), Type.Null()])),
        data: Data,
        workflow: Type.Optional(Type.Union([Type.Object({ key: Type.String(), categories: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])) }, { additionalProperties: true }), Type.Null()])),
      }),
      response: { 200: Type.Object({ result: Type.Union([Type.Literal('success'), Type.Literal('error')]), layout: Type.Optional(Type.Union([Type.Object({ html_body: Type.Union([Type.String(), Type.Null()]), text_body: Type.Union([Type.String(), Type.Null()]) }), Type.Null()])), errors: RenderErrors }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    const b = request.body;
    const db = await environmentDb(environments, environment);
    const [content, scope] = await Promise.all([
      previewContent(db, environment, drafts(environment), deps.defaultLocale),
      previewScope(db, b, b.workflow ? { key: b.workflow.key, categories: b.workflow.categories ?? [] } : null),
    ]);
    // Knock's layout preview has no message: `content` is empty unless the data gives one.
    const body = typeof (b.data as { content?: unknown } | null | undefined)?.content === 'string' ? String((b.data as { content: string }).content) : '';
    try {
      const rendered = await renderFields({
        html_body: { source: b.email_layout.html_layout },
        text_body: { source: b.email_layout.text_layout },
      }, { ...scope, content: body } as LiquidScope, content);
      return { result: 'success' as const, layout: { html_body: rendered.html_body.trim(), text_body: rendered.text_body.trim() } };
    } catch (err) {
      return { result: 'error' as const, layout: null, errors: renderErrors(err) };
    }
  });
}
