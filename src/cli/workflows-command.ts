import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { loadWorkflowsFromDirectory, type WorkflowLoadError } from '../workflows/load-directory.js';
import { CliError } from './errors.js';

/** `steps[2].settings` → ` (step "digest")`, read from the file, so the message names the step as its author does. */
function stepName(e: WorkflowLoadError): string {
  const m = /^steps\[(\d+)\]/.exec(e.field);
  if (!m) return '';
  try {
    const ref = (JSON.parse(readFileSync(e.path, 'utf8')) as { steps?: { ref?: unknown }[] }).steps?.[Number(m[1])]?.ref;
    return typeof ref === 'string' ? ` (step "${ref}")` : '';
  } catch {
    return '';
  }
}

export function workflowsCommand(program: Command): void {
  const workflows = program.command('workflows').description('work with workflow directories (knock-cli layout)');
  workflows.command('validate')
    .description('check every workflow in <dir> with the validation Herald applies at start-up; exit code 1 on any error')
    .argument('<dir>', 'directory holding <workflow_key>/workflow.json')
    .action(async (dir: string) => {
      const isDir = (() => { try { return statSync(dir).isDirectory(); } catch { return false; } })();
      if (!isDir) throw new CliError(`${dir} is not a directory`);
      const { workflows: loaded, errors } = await loadWorkflowsFromDirectory(dir);
      for (const wf of loaded) console.log(`ok     ${wf.key}`);
      for (const e of errors) {
        const field = e.field ? ` ${e.field}${stepName(e)}:` : '';
        console.error(`error  ${relative(process.cwd(), e.path) || e.path}:${field} ${e.message}`);
      }
      if (errors.length > 0) throw new CliError(`${errors.length} error(s); ${loaded.length} workflow(s) valid`);
      if (loaded.length === 0) throw new CliError(`no workflow found in ${dir} (expected ${dir}/<workflow_key>/workflow.json)`);
      console.log(`${loaded.length} workflow(s) valid`);
    });
}
