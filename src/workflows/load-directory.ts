/**
 * Loads workflows from a directory in knock-cli's layout (reference §6):
 *
 *   <dir>/<workflow_key>/workflow.json
 *   <dir>/<workflow_key>/in_app_feed_1/markdown_body.md   (referenced as "markdown_body@")
 *
 * Any JSON key ending in `@`, at any depth, names a file relative to the workflow's
 * directory; the file's content replaces the field under the key without `@` (`.json` files
 * are parsed, and may themselves hold `@` keys). A referenced file must stay inside the workflow's
 * directory after symbolic links are resolved. One broken workflow is reported and skipped so
 * the others still load — whatever breaks it. Subdirectories without a workflow.json are ignored.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { nestingDepth } from '../domain/json-depth.js';
import { JSON_MAX_DEPTH } from '../domain/limits.js';
import { validateWorkflowDefinition, type WorkflowDefinition } from '../domain/workflow.js';
import { workflowBody } from './body.js';

export interface WorkflowLoadError {
  /** The file at fault (workflow.json or a referenced file). */
  path: string;
  /** Field inside workflow.json, e.g. `steps[0].template.markdown_body@`; empty for the whole file. */
  field: string;
  message: string;
}

export interface LoadedWorkflows {
  workflows: WorkflowDefinition[];
  errors: WorkflowLoadError[];
  /** The workflow.json each loaded workflow came from, by key. */
  files: Record<string, string>;
}

const WORKFLOW_FILE = 'workflow.json';

export async function loadWorkflowsFromDirectory(dir: string): Promise<LoadedWorkflows> {
  const result: LoadedWorkflows = { workflows: [], errors: [], files: {} };
  const root = resolve(dir);
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!entries) return result;

  const seen = new Map<string, string>();
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  for (const name of dirs) {
    const workflowDir = join(root, name);
    const file = join(workflowDir, WORKFLOW_FILE);
    const loaded = await loadOne(workflowDir, name).catch((err: unknown): LoadOutcome => (
      // Whatever a file does to the loader (it is operator input, but may be generated), it stays that workflow's error.
      { errors: [{ path: file, field: '', message: `cannot be loaded: ${(err as Error).message}` }] }));
    if (loaded === null) continue;
    if ('errors' in loaded) {
      result.errors.push(...loaded.errors);
      continue;
    }
    const earlier = seen.get(loaded.workflow.key);
    if (earlier) {
      result.errors.push({ path: file, field: 'key', message: `duplicates the workflow key "${loaded.workflow.key}" already loaded from ${earlier}` });
      continue;
    }
    seen.set(loaded.workflow.key, file);
    result.workflows.push(loaded.workflow);
    result.files[loaded.workflow.key] = file;
  }
  return result;
}

type LoadOutcome = { workflow: WorkflowDefinition } | { errors: WorkflowLoadError[] } | null;

/** Null when the directory has no workflow.json (not a workflow directory). */
async function loadOne(workflowDir: string, dirName: string): Promise<LoadOutcome> {
  const file = join(workflowDir, WORKFLOW_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { errors: [{ path: file, field: '', message: `cannot be read: ${(err as Error).message}` }] };
  }

  const parsed = parseJson(text);
  if ('error' in parsed) return { errors: [{ path: file, field: '', message: parsed.error }] };
  const raw = parsed.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: [{ path: file, field: '', message: 'must contain a JSON object' }] };
  }

  const fileErrors: WorkflowLoadError[] = [];
  const resolved = (await resolveFileRefs(raw, '', workflowDir, [file], fileErrors)) as Record<string, unknown>;
  if (fileErrors.length > 0) return { errors: fileErrors };

  // Read-only fields and annotations (a folder written by `knock workflow pull` has them) are dropped, as for the API.
  const key = resolved.key ?? (resolved.__readonly as { key?: unknown } | undefined)?.key ?? dirName;
  const definition = { ...workflowBody(dirName, resolved), key, active: resolved.active !== false };
  const validation = validateWorkflowDefinition(definition);
  if (!validation.ok) return { errors: validation.errors.map((e) => ({ path: file, field: e.field, message: e.message })) };
  return { workflow: validation.workflow };
}

/**
 * Returns a copy of `value` with every `"<key>@": "<file>"` replaced by `"<key>": <content>`.
 * `stack` holds the files being expanded so a file that references itself is an error, not a hang.
 */
async function resolveFileRefs(value: unknown, field: string, workflowDir: string, stack: string[], errors: WorkflowLoadError[]): Promise<unknown> {
  if (Array.isArray(value)) {
    return Promise.all(value.map((item, i) => resolveFileRefs(item, `${field}[${i}]`, workflowDir, stack, errors)));
  }
  if (value === null || typeof value !== 'object') return value;

  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childField = field ? `${field}.${key}` : key;
    if (!key.endsWith('@')) {
      out[key] = await resolveFileRefs(child, childField, workflowDir, stack, errors);
      continue;
    }
    const target = key.slice(0, -1);
    const content = await readReferencedFile(child, childField, workflowDir, stack, errors);
    if (content !== undefined) out[target] = content;
  }
  return out;
}

async function readReferencedFile(ref: unknown, field: string, workflowDir: string, stack: string[], errors: WorkflowLoadError[]): Promise<unknown> {
  const owner = stack[stack.length - 1];
  if (typeof ref !== 'string' || ref === '') {
    errors.push({ path: owner, field, message: 'must be a relative file path' });
    return undefined;
  }
  const path = resolve(workflowDir, ref);
  // Workflow files may only pull in files from their own directory tree.
  if (!path.startsWith(workflowDir + sep)) {
    errors.push({ path: owner, field, message: `"${ref}" points outside the workflow directory` });
    return undefined;
  }
  // ... also once symbolic links are followed (a link to /etc/passwd is not part of the tree).
  const [realDir, realFile] = await Promise.all([realpath(workflowDir), realpath(path).catch(() => null)]);
  if (realFile !== null && !realFile.startsWith(realDir + sep)) {
    errors.push({ path: owner, field, message: `"${ref}" resolves (through a symbolic link) outside the workflow directory` });
    return undefined;
  }
  if (stack.includes(path)) {
    errors.push({ path: owner, field, message: `"${ref}" references itself` });
    return undefined;
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    errors.push({ path: owner, field, message: `file "${ref}" ${reason}` });
    return undefined;
  }
  if (extname(path).toLowerCase() !== '.json') return text;
  const parsed = parseJson(text);
  if ('error' in parsed) {
    errors.push({ path, field: '', message: parsed.error });
    return undefined;
  }
  return resolveFileRefs(parsed.value, field.slice(0, -1), workflowDir, [...stack, path], errors);
}

/** Parses a workflow file, refusing nesting deeper than JSON_MAX_DEPTH before the recursive walkers see it. */
function parseJson(text: string): { value: unknown } | { error: string } {
  if (nestingDepth(text, JSON_MAX_DEPTH) > JSON_MAX_DEPTH) return { error: `is malformed: it nests deeper than ${JSON_MAX_DEPTH} levels of objects and arrays` };
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: `is not valid JSON: ${(err as Error).message}` };
  }
}
