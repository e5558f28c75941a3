/**
 * Registers partials, translations and email layouts as content kinds (src/content/kinds.ts),
 * so their drafts are committed and promoted by the same machinery as workflows: a committed
 * body becomes what renders read (template-kinds.ts applyCommitted*).
 */
import { registerContentKind } from '../../content/kinds.js';
import {
  applyCommittedEmailLayout, applyCommittedPartial, applyCommittedTranslation, validateEmailLayout, validatePartial, validateTranslation,
  type EmailLayoutBody, type PartialBody, type TranslationBody,
} from './template-kinds.js';

registerContentKind({
  type: 'partial',
  validate: (key, body) => validatePartial(key, body),
  applyCommitted: async (db, _key, value, now) => { await applyCommittedPartial(db, db, value as PartialBody, now); },
});

registerContentKind({
  type: 'translation',
  validate: (key, body) => validateTranslation(key, body),
  applyCommitted: async (db, _key, value, now) => { await applyCommittedTranslation(db, db, value as TranslationBody, now); },
});

registerContentKind({
  type: 'email_layout',
  validate: (key, body) => validateEmailLayout(key, body),
  applyCommitted: async (db, _key, value, now) => { await applyCommittedEmailLayout(db, value as EmailLayoutBody, now); },
});
