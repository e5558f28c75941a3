import { Command, CommanderError } from 'commander';
import { CONFIG_FLAGS } from '../config.js';
import { doctorCommand } from './doctor-command.js';
import { CliError } from './errors.js';
import { keysCommand } from './keys-command.js';
import { migrateCommand } from './migrate-command.js';
import { serve } from './serve.js';
import { workflowsCommand } from './workflows-command.js';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function startCommand(program: Command): void {
  const start = program.command('start')
    .description('run Herald: migrate the database, load workflows, serve the API and run the worker (as "npm start")');
  for (const f of CONFIG_FLAGS) start.option(`--${f.flag} <value>`, `${f.help} (env ${f.env})`);
  start.action(async (opts: Record<string, string | undefined>) => {
    // Back to flags for loadConfig, the one reader of flags, environment and config file.
    const argv = CONFIG_FLAGS.flatMap((f) => (opts[camel(f.flag)] !== undefined ? [`--${f.flag}`, opts[camel(f.flag)]!] : []));
    await serve(argv);
  });
}

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('Herald: a self-hosted notification workflow engine that speaks Knock\'s API')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  startCommand(program);
  migrateCommand(program);
  keysCommand(program);
  workflowsCommand(program);
  doctorCommand(program);
  // exitOverride on every command, so failures reach runCli's one exit path.
  const override = (cmd: Command) => { cmd.exitOverride(); cmd.commands.forEach(override); };
  override(program);
  return program;
}

/**
 * Runs one command; an operator's error (bad flag, port taken, data dir in use, failed check)
 * is one line on stderr and exit code 1, an unexpected one also prints its stack.
 */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      process.exit(err.exitCode);
    }
    if (err instanceof CliError) {
      console.error(`herald: ${err.message}`);
      process.exit(err.exitCode);
    }
    console.error('herald: failed:', err);
    process.exit(1);
  }
}
