import type { Command } from 'commander';
import type { HeraldConfig } from '../config.js';
import type { Queryable } from '../store/db.js';
import { migrationStatus } from '../store/migrate.js';
import { dueRunStats } from '../store/queue-stats.js';
import { loadWorkflowsFromDirectory } from '../workflows/load-directory.js';
import type { ReachableChannel, ReachOptions } from './channel-reach.js';
import { parseDuration, formatDuration } from './duration.js';
import { DataDirInUse } from './data-dir-lock.js';
import { CliError } from './errors.js';
import { configFrom, withStore, withStoreOptions } from './store-command.js';

interface Check { name: string; ok: boolean; detail: string }

/** Oldest due work, seconds behind: what no worker has taken yet. Both read a partial/plain index on the due time. */
async function lagChecks(db: Queryable, maxLagMs: number): Promise<Check[]> {
  const due = await dueRunStats(db, new Date());
  const [expired] = await db.query<{ expired: number }>(
    `SELECT count(*)::int AS expired FROM recipient_runs WHERE status = 'processing' AND wake_at <= now()`,
  );
  const runs = { oldest: due.oldestWakeAt, expired: expired.expired };
  const [deliveries] = await db.query<{ oldest: Date | null }>('SELECT min(next_attempt_at) AS oldest FROM deliveries WHERE next_attempt_at <= now()');
  const lag = (oldest: Date | null) => (oldest ? Math.max(0, Date.now() - new Date(oldest).getTime()) : 0);
  const runLag = lag(runs.oldest);
  const deliveryLag = lag(deliveries.oldest);
  return [
    { name: 'due runs', ok: runLag <= maxLagMs, detail: runLag === 0 ? 'none waiting' : `oldest due ${formatDuration(Math.round(runLag / 1000) * 1000 || 1000)} ago (limit ${formatDuration(maxLagMs)})` },
    {
      name: 'workers',
      ok: runLag <= maxLagMs,
      detail: (runLag <= maxLagMs ? 'due runs are being taken' : 'no worker is taking due runs (is a process with the worker role running?)')
        + (runs.expired > 0 ? `; ${runs.expired} claimed run(s) whose worker's lease expired (a worker stopped; another takes them over)` : ''),
    },
    { name: 'due deliveries', ok: deliveryLag <= maxLagMs, detail: deliveryLag === 0 ? 'none waiting' : `oldest due ${formatDuration(Math.round(deliveryLag / 1000) * 1000 || 1000)} ago` },
  ];
}

/**
 * Configured channels exist in the database (applied at start-up), and each one's provider
 * addresses answer (channel-reach.ts). An unreachable channel is a failure, like every other
 * check: its deliveries would only be retried until they give up.
 */
async function channelChecks(db: Queryable, config: HeraldConfig, reach: Omit<ReachOptions, 'allowPrivateNetworks'>): Promise<Check[]> {
  const rows = await db.query<ReachableChannel>('SELECT key, type, provider, settings, fallbacks FROM channels ORDER BY key');
  const stored = new Set(rows.map((r) => r.key));
  const missing = config.channels.filter((c) => !stored.has(c.key)).map((c) => c.key);
  const checks: Check[] = [{
    name: 'channels',
    ok: missing.length === 0,
    detail: `${rows.length} configured (${rows.map((r) => `${r.key}: ${r.type}/${r.provider}`).join(', ')})`
      + (missing.length > 0 ? `; not yet applied: ${missing.join(', ')} (start Herald to apply HERALD_CHANNELS)` : ''),
  }];
  // Imported here: nodemailer and TLS are not needed by the other commands (nor by `herald start`).
  const { channelReachChecks } = await import('./channel-reach.js');
  checks.push(...await channelReachChecks(rows, { ...reach, allowPrivateNetworks: config.outboundAllowPrivateNetworks }));
  return checks;
}

/**
 * PGlite belongs to the running Herald, so the doctor cannot open it: it asks that process's
 * /readyz instead (database, migrations, worker role); the queue checks need PostgreSQL.
 */
async function askRunningServer(config: HeraldConfig, inUse: DataDirInUse): Promise<Check[]> {
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/readyz`;
  const skipped: Check = { name: 'due runs', ok: true, detail: `not checked: the PGlite directory belongs to the running Herald (pid ${inUse.pid}); its /metrics shows the queue` };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await res.json() as { ok?: boolean; errors?: { field: string; message: string }[] };
    if (res.status === 200) return [{ name: 'server', ok: true, detail: `Herald (pid ${inUse.pid}) holds ${config.dataDir}; ${url} answers ready` }, skipped];
    return [
      { name: 'server', ok: false, detail: `Herald (pid ${inUse.pid}) holds ${config.dataDir}; ${url} answers ${res.status}` },
      ...(body.errors ?? []).map((e) => ({ name: e.field, ok: false, detail: e.message })),
    ];
  } catch (err) {
    return [{ name: 'server', ok: false, detail: `Herald (pid ${inUse.pid}) holds ${config.dataDir} but ${url} does not answer: ${(err as Error).message}` }];
  }
}

export function doctorCommand(program: Command): void {
  withStoreOptions(program.command('doctor'))
    .description('check the database, migrations, due-run lag, workers, channels (configured and reachable) and workflows; exit code 1 when something is wrong')
    .option('--max-lag <duration>', 'due work older than this is a problem (default 60s)', parseDuration)
    .option('--workflows-dir <dir>', 'workflows directory to check (env HERALD_WORKFLOWS_DIR; default workflows)')
    .option('--host <host>', 'where a running Herald listens, asked when it holds the PGlite directory (env HOST)')
    .option('--port <port>', 'its port (env PORT)')
    .option('--timeout <duration>', 'how long each channel address may take to answer (default 3s)', parseDuration)
    .action(async (opts: Record<string, unknown>) => {
      const extra = (['workflowsDir', 'host', 'port'] as const).flatMap((k) => (typeof opts[k] === 'string' ? [`--${k === 'workflowsDir' ? 'workflows-dir' : k}`, opts[k] as string] : []));
      const config = configFrom(opts, extra);
      const checks: Check[] = [];
      // Loaded first: webhook channels' addresses are in the workflows' templates.
      const { workflows, errors } = await loadWorkflowsFromDirectory(config.workflowsDir);
      const reach = { timeoutMs: (opts.timeout as number | undefined) ?? 3_000, workflows };
      try {
        await withStore(config, async ({ db, describe }) => {
          checks.push({ name: 'database', ok: true, detail: `${describe} reachable` });
          const { migrations } = await migrationStatus(db);
          const pending = migrations.filter((m) => !m.appliedAt).map((m) => m.name);
          checks.push({ name: 'migrations', ok: pending.length === 0, detail: pending.length === 0 ? `${migrations.length} applied, current` : `pending: ${pending.join(', ')} (run "herald migrate")` });
          // The rest reads tables the migrations create.
          if (pending.length > 0) return;
          checks.push(...await lagChecks(db, (opts.maxLag as number | undefined) ?? 60_000));
          checks.push(...await channelChecks(db, config, reach));
        });
      } catch (err) {
        if (err instanceof DataDirInUse) {
          checks.push(...await askRunningServer(config, err));
          // The database is not readable here; the configuration holds what the server applied.
          const { channelReachChecks } = await import('./channel-reach.js');
          checks.push(...await channelReachChecks(config.channels.map((c) => ({ ...c, settings: c.settings ?? {} })), { ...reach, allowPrivateNetworks: config.outboundAllowPrivateNetworks }));
        }
        else checks.push({ name: 'database', ok: false, detail: (err as Error).message });
      }
      checks.push({
        name: 'workflows',
        ok: errors.length === 0,
        detail: `${workflows.length} valid in ${config.workflowsDir}` + (errors.length > 0 ? `; ${errors.length} error(s): run "herald workflows validate ${config.workflowsDir}"` : ''),
      });
      for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
      const failed = checks.filter((c) => !c.ok).length;
      if (failed > 0) throw new CliError(`${failed} check(s) failed`);
    });
}
