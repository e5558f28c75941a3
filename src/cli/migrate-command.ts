import type { Command } from 'commander';
import { migrate, migrationStatus, type MigrationState } from '../store/migrate.js';
import { CliError } from './errors.js';
import { configFrom, withStore, withStoreOptions } from './store-command.js';

function line(m: MigrationState): string {
  return m.appliedAt ? `  applied  ${m.name}  ${m.appliedAt.toISOString()}` : `  pending  ${m.name}`;
}

export function migrateCommand(program: Command): void {
  withStoreOptions(program.command('migrate'))
    .description('apply pending database migrations (under a lock, safe while other processes run) and show each one\'s status')
    .option('--status', 'only show the status; exit code 1 when a migration is pending')
    .action(async (opts: Record<string, unknown>) => {
      await withStore(configFrom(opts), async ({ db, describe }) => {
        const applied = opts.status ? [] : await migrate(db);
        const { migrations, unknown } = await migrationStatus(db);
        console.log(`Migrations in ${describe}:`);
        for (const m of migrations) console.log(line(m));
        for (const m of unknown) console.log(`  unknown  ${m.name}  applied by a newer Herald`);
        const pending = migrations.filter((m) => !m.appliedAt);
        if (!opts.status) console.log(applied.length > 0 ? `Applied ${applied.length} migration(s).` : 'Nothing to apply: the database is current.');
        if (pending.length > 0) throw new CliError(`${pending.length} migration(s) pending: run "herald migrate"`);
      });
    });
}
