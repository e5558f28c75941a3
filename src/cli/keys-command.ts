import { Argument, type Command } from 'commander';
import type { HeraldConfig } from '../config.js';
import { createApiKeys, currentKeyKind, DEFAULT_ROTATION_GRACE_MS, revokeRetiredKey, rotateApiKey, storedKeys, type KeyKind } from '../store/api-keys.js';
import { migrate } from '../store/migrate.js';
import { createServiceToken, DEFAULT_SERVICE_TOKEN_NAME, listServiceTokens, rotateServiceToken } from '../store/service-tokens.js';
import { formatDuration, parseDuration } from './duration.js';
import { CliError } from './errors.js';
import { configFrom, withStore, withStoreOptions } from './store-command.js';
import { environmentsOption, openEnvironmentStore } from './environment-store.js';

const ENVIRONMENT_FLAG = ['--environment <slug>', 'which environment (HERALD_ENVIRONMENTS; default: the first, development)'] as const;

const ENV: Record<KeyKind, string> = { secret: 'HERALD_SECRET_KEY', public: 'HERALD_PUBLIC_KEY' };

function configured(config: HeraldConfig, kind: KeyKind): boolean {
  return (kind === 'secret' ? config.secretKey : config.publicKey) !== undefined;
}

export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('show, create, rotate or revoke the API keys and the management API service token stored in the database (recovers lost keys)');

  withStoreOptions(keys.command('show', { isDefault: true }))
    .description('print each environment\'s current secret and public keys, rotated-out keys still in their grace period, and the service token\'s state')
    .option('--environment <slug>', 'only this environment (default: every one in HERALD_ENVIRONMENTS)')
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      await withStore(config, async ({ db, describe }) => {
        await migrate(db);
        const now = Date.now();
        const slugs = environmentsOption(config, opts, true);
        const missing: string[] = [];
        for (const slug of slugs) {
          const env = await openEnvironmentStore(db, config, slug, { create: false });
          if (!env) { missing.push(slug); continue; }
          try {
            const stored = await storedKeys(env.db);
            if (!stored.current.secret) { missing.push(slug); continue; }
            console.log(`API keys of ${slug} in ${describe}:`);
            const first = slug === config.environments[0];
            for (const kind of ['secret', 'public'] as const) {
              console.log(`  ${kind} key: ${stored.current[kind]}`);
              if (first && configured(config, kind)) console.log(`    (not used: ${ENV[kind]} is set and replaces it)`);
            }
            for (const r of stored.retired) {
              const state = r.expiresAt.getTime() > now ? `works until ${r.expiresAt.toISOString()}` : `expired ${r.expiresAt.toISOString()}`;
              console.log(`  rotated-out ${r.kind} key: ${r.key} (${state})`);
            }
          } finally {
            await env.close();
          }
        }
        if (missing.length === slugs.length) throw new CliError(`no keys are stored in ${describe} yet: run "herald keys create" or start Herald once`);
        for (const slug of missing) console.log(`No keys of ${slug} yet: start Herald once, or "herald keys create --environment ${slug}".`);
        // Only a hash of the service token is stored: it is named, never printed.
        for (const t of await listServiceTokens(db)) {
          const state = t.expiresAt === undefined
            ? `current, created ${t.createdAt.toISOString()}; only its hash is stored: "herald keys rotate service" prints a new one`
            : t.expiresAt.getTime() > now ? `rotated out, works until ${t.expiresAt.toISOString()}` : `expired ${t.expiresAt.toISOString()}`;
          console.log(`  service token "${t.name}": ${t.hint} (${state})`);
        }
        if (config.serviceToken !== undefined) console.log('    (not used: HERALD_SERVICE_TOKEN is set and replaces the stored service token)');
      });
    });

  withStoreOptions(keys.command('create'))
    .description('generate and store a key pair when none is stored (the first start does the same)')
    .option(...ENVIRONMENT_FLAG)
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const [slug] = environmentsOption(config, opts, false);
      await withStore(config, async ({ db, describe }) => {
        await migrate(db);
        const env = (await openEnvironmentStore(db, config, slug))!;
        const created = await createApiKeys(env.db).finally(() => env.close());
        // The management API's service token too, as the first start does (printed only now).
        const token = await createServiceToken(db, DEFAULT_SERVICE_TOKEN_NAME, new Date());
        if (token) console.log(`Created the management API service token in ${describe} (shown only now):\n  service token: ${token}`);
        if (!created) throw new CliError(`${slug} keys already exist in ${describe}: "herald keys show" prints them, "herald keys rotate" replaces one`);
        console.log(`Created API keys of ${slug} in ${describe}:\n  secret key: ${created.secret}\n  public key: ${created.public}`);
      });
    });

  withStoreOptions(keys.command('rotate'))
    .description('replace a key with a new one; the old one keeps working for the grace period')
    .addArgument(new Argument('<kind>', 'which key (service = the management API service token)').choices(['secret', 'public', 'service']))
    .option('--grace <duration>', `how long the old key keeps working: 0, 90s, 30m, 24h, 7d (default ${formatDuration(DEFAULT_ROTATION_GRACE_MS)})`, parseDuration)
    .option(...ENVIRONMENT_FLAG)
    .action(async (kind: KeyKind | 'service', opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      if (kind === 'service') {
        await rotateService(config, opts);
        return;
      }
      const [slug] = environmentsOption(config, opts, false);
      if (slug === config.environments[0] && configured(config, kind)) throw new CliError(`the ${kind} key comes from ${ENV[kind]}, not the database: change it there`);
      await withStore(config, async ({ db, describe }) => {
        const env = await openEnvironmentStore(db, config, slug, { create: false });
        if (!env) throw new CliError(`no ${slug} keys are stored in ${describe} yet: start Herald once or run "herald keys create --environment ${slug}"`);
        const grace = (opts.grace as number | undefined) ?? DEFAULT_ROTATION_GRACE_MS;
        const rotated = await rotateApiKey(env.db, kind, grace, new Date()).finally(() => env.close());
        console.log(`Rotated the ${kind} key of ${slug} in ${describe}.\n  new ${kind} key: ${rotated.key}`);
        console.log(grace > 0
          ? `  the old key keeps working until ${rotated.expiresAt.toISOString()} (${formatDuration(grace)}); "herald keys revoke <old key>" ends that sooner`
          : '  the old key stopped working now');
      });
    });

  withStoreOptions(keys.command('revoke'))
    .description('stop a rotated-out key at once (to replace the current key, use "herald keys rotate <kind> --grace 0")')
    .argument('<key>', 'the rotated-out key')
    .option(...ENVIRONMENT_FLAG)
    .action(async (key: string, opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const [slug] = environmentsOption(config, opts, false);
      await withStore(config, async ({ db }) => {
        const env = await openEnvironmentStore(db, config, slug, { create: false });
        if (!env) throw new CliError('no rotated-out key matches');
        const found = await (async () => {
          if (await revokeRetiredKey(env.db, key)) return 'revoked' as const;
          return currentKeyKind(env.db, key);
        })().finally(() => env.close());
        if (found === 'revoked') {
          console.log('Revoked: the key no longer works.');
          return;
        }
        const kind = found;
        if (kind) throw new CliError(`that is the current ${kind} key; use "herald keys rotate ${kind} --grace 0" to replace it at once`);
        throw new CliError('no rotated-out key matches');
      });
    });
}

async function rotateService(config: HeraldConfig, opts: Record<string, unknown>): Promise<void> {
  if (config.serviceToken !== undefined) throw new CliError('the service token comes from HERALD_SERVICE_TOKEN, not the database: change it there');
  await withStore(config, async ({ db, describe }) => {
    await migrate(db);
    const grace = (opts.grace as number | undefined) ?? DEFAULT_ROTATION_GRACE_MS;
    const rotated = await rotateServiceToken(db, DEFAULT_SERVICE_TOKEN_NAME, grace, new Date());
    console.log(`Rotated the service token in ${describe} (shown only now: only its hash is stored).\n  new service token: ${rotated.token}`);
    console.log(grace > 0
      ? `  the old token keeps working until ${rotated.expiresAt.toISOString()} (${formatDuration(grace)})`
      : '  the old token stopped working now');
  });
}
