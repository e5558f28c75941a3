import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENVIRONMENTS, parseEnvironments } from './environments/names.js';
import { parseChannelConfigs, parseChannelGroupConfigs, parseEmailLayouts, type ChannelConfig, type ChannelGroupConfig, type EmailLayoutConfig } from './domain/channel-config.js';

/**
 * The only reader of flags, environment and config file. Precedence: flags > env > config file
 * > defaults. The result is validated and frozen; nothing else reads process.env.
 */
export interface HeraldConfig {
  readonly port: number;
  readonly host: string;
  /**
   * The base URL clients reach Herald at (scheme, host, optional port and path prefix), for
   * absolute URLs in answers (`progress_path`). Default `http://<host>:<port>` of the listen
   * address (`localhost` for 0.0.0.0 / ::). Never taken from a request's Host header.
   */
  readonly publicUrl: string | undefined;
  /** PostgreSQL connection string; absent = embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly workflowsDir: string;
  readonly secretKey: string | undefined;
  readonly publicKey: string | undefined;
  /** The management API's service token (/mgmt) instead of the stored one. */
  readonly serviceToken: string | undefined;
  /** Signs in to the dashboard for every environment (an environment's secret key signs in to that one only). */
  readonly dashboardToken: string | undefined;
  /**
   * Environment slugs in promotion order (environments/names.ts): the first keeps the data and
   * keys of an install from before environments; each other one gets its own schema and keys.
   */
  readonly environments: readonly string[];
  /** The locale translations fall back to (a recipient without `locale`, or one with no translation). */
  readonly defaultLocale: string;
  /** Which roles this process plays: the HTTP API, the worker that advances runs, or both. */
  readonly roles: readonly ('api' | 'worker')[];
  readonly logLevel: string;
  /** How often an idle worker polls for due runs; NOTIFY wakes it sooner. */
  readonly pollIntervalMs: number;
  /** How long a stopping process waits for in-flight requests and claimed runs (docs/deployment.md). */
  readonly shutdownTimeoutMs: number;
  /** PGlite's shared_buffers (e.g. 16MB): most of its memory, never given back once grown. */
  readonly pgliteSharedBuffers: string;
  /** PEM public key that verifies X-Knock-User-Token JWTs sent with a public key. */
  readonly signingPublicKey: string | undefined;
  /** Requests per second per API key (requests without a user token); 0 = unlimited. */
  readonly rateLimitPerKey: number;
  /** Requests per second per user, for requests with a user token; 0 = unlimited. */
  readonly rateLimitPerUser: number;
  /**
   * Let every outbound call whose address comes from data (http_fetch steps, webhook channel
   * URLs, chat incoming-webhook URLs) reach loopback, private, link-local, metadata and other
   * special-purpose addresses: the SSRF guard off. HERALD_FETCH_ALLOW_PRIVATE_NETWORKS is the
   * older name of the same setting.
   */
  readonly outboundAllowPrivateNetworks: boolean;
  /** Channels upserted into the database at start-up (provider settings may hold secrets). */
  readonly channels: readonly ChannelConfig[];
  /** Channel groups (`channel_group_key` in steps), upserted at start-up. */
  readonly channelGroups: readonly ChannelGroupConfig[];
  /** Email layouts (`template.settings.layout_key`), upserted at start-up. */
  readonly emailLayouts: readonly EmailLayoutConfig[];
}

interface Field {
  key: keyof HeraldConfig;
  env: string;
  flag: string;
  parse: (raw: string) => unknown;
  /** One line for `--help`. */
  help: string;
  /** An older name still read (flag, env, file key) when the current one is not given at that level. */
  alias?: { key: string; env: string; flag: string };
}

const str = (raw: string) => raw;
/** A BCP 47 tag as recipients carry it (`en`, `fr-CA`, `zh-Hant-TW`). */
const locale = (raw: string) => {
  if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(raw)) throw new Error(`HERALD_DEFAULT_LOCALE must be a locale such as en or fr-CA, got ${JSON.stringify(raw)}`);
  return raw;
};
const int = (name: string) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
};
/** A PostgreSQL memory size with its unit, from 1MB to 1GB (what fits a WASM heap). */
const memorySize = (name: string) => (raw: string) => {
  const m = /^(\d+)\s*(MB|GB)$/i.exec(raw.trim());
  const mb = m ? Number(m[1]) * (m[2].toUpperCase() === 'GB' ? 1024 : 1) : NaN;
  if (!(mb >= 1 && mb <= 1024)) throw new Error(`${name} must be a size from 1MB to 1GB, like 16MB`);
  return `${mb}MB`;
};
const bool = (name: string) => (raw: string) => {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
};
const publicUrl = (raw: string) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`HERALD_PUBLIC_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`HERALD_PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  if (url.search || url.hash || url.username || url.password) throw new Error(`HERALD_PUBLIC_URL must not carry a query, fragment or credentials, got "${raw}"`);
  return url.href.replace(/\/+$/, '');
};
const roles = (raw: string) => {
  const list = raw.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of list) if (r !== 'api' && r !== 'worker') throw new Error(`HERALD_ROLES: unknown role "${r}" (use api, worker)`);
  if (list.length === 0) throw new Error('HERALD_ROLES must name at least one role');
  return list;
};

const FIELDS: Field[] = [
  { key: 'port', env: 'PORT', flag: 'port', help: 'HTTP port (default 3000)', parse: int('PORT') },
  { key: 'host', env: 'HOST', flag: 'host', help: 'address to listen on (default 127.0.0.1)', parse: str },
  { key: 'publicUrl', env: 'HERALD_PUBLIC_URL', flag: 'public-url', help: 'base URL clients reach Herald at', parse: publicUrl },
  { key: 'databaseUrl', env: 'DATABASE_URL', flag: 'database-url', help: 'PostgreSQL connection string (default: embedded PGlite)', parse: str },
  { key: 'dataDir', env: 'HERALD_DATA_DIR', flag: 'data-dir', help: 'PGlite data directory (default .herald/data)', parse: str },
  { key: 'workflowsDir', env: 'HERALD_WORKFLOWS_DIR', flag: 'workflows-dir', help: 'workflows directory in knock-cli layout (default workflows)', parse: str },
  { key: 'secretKey', env: 'HERALD_SECRET_KEY', flag: 'secret-key', help: 'secret API key (sk_...) instead of the stored one', parse: str },
  { key: 'publicKey', env: 'HERALD_PUBLIC_KEY', flag: 'public-key', help: 'public API key (pk_...) instead of the stored one', parse: str },
  { key: 'serviceToken', env: 'HERALD_SERVICE_TOKEN', flag: 'service-token', help: 'management API service token instead of the stored one', parse: str },
  { key: 'dashboardToken', env: 'HERALD_DASHBOARD_TOKEN', flag: 'dashboard-token', help: 'signs in to the dashboard for every environment (default: unset, secret keys only)', parse: str },
  { key: 'environments', env: 'HERALD_ENVIRONMENTS', flag: 'environments', help: 'environments in promotion order (default development,production)', parse: parseEnvironments },
  { key: 'defaultLocale', env: 'HERALD_DEFAULT_LOCALE', flag: 'default-locale', help: 'locale translations fall back to (default en)', parse: locale },
  { key: 'roles', env: 'HERALD_ROLES', flag: 'roles', help: 'roles of this process: api, worker or api,worker (default)', parse: roles },
  { key: 'logLevel', env: 'HERALD_LOG_LEVEL', flag: 'log-level', help: 'log level: fatal, error, warn, info, debug, trace, silent (default info)', parse: str },
  { key: 'pollIntervalMs', env: 'HERALD_POLL_INTERVAL_MS', flag: 'poll-interval-ms', help: 'idle worker poll interval in ms (default 1000)', parse: int('HERALD_POLL_INTERVAL_MS') },
  { key: 'pgliteSharedBuffers', env: 'HERALD_PGLITE_SHARED_BUFFERS', flag: 'pglite-shared-buffers', help: "embedded database's shared_buffers, e.g. 16MB (default 128MB)", parse: memorySize('HERALD_PGLITE_SHARED_BUFFERS') },
  { key: 'shutdownTimeoutMs', env: 'HERALD_SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', help: 'on SIGTERM/SIGINT, how long in-flight requests and claimed runs may take (default 10000)', parse: int('HERALD_SHUTDOWN_TIMEOUT_MS') },
  { key: 'signingPublicKey', env: 'HERALD_SIGNING_PUBLIC_KEY', flag: 'signing-public-key', help: 'PEM public key verifying user tokens (enhanced security)', parse: str },
  { key: 'rateLimitPerKey', env: 'HERALD_RATE_LIMIT_PER_KEY', flag: 'rate-limit-per-key', help: 'requests per second per API key; 0 = unlimited (default 10000)', parse: int('HERALD_RATE_LIMIT_PER_KEY') },
  { key: 'rateLimitPerUser', env: 'HERALD_RATE_LIMIT_PER_USER', flag: 'rate-limit-per-user', help: 'requests per second per user token; 0 = unlimited (default 200)', parse: int('HERALD_RATE_LIMIT_PER_USER') },
  {
    key: 'outboundAllowPrivateNetworks', env: 'HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS', flag: 'outbound-allow-private-networks', help: 'let outbound calls reach private networks (default false)', parse: bool('HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS'),
    alias: { key: 'fetchAllowPrivateNetworks', env: 'HERALD_FETCH_ALLOW_PRIVATE_NETWORKS', flag: 'fetch-allow-private-networks' },
  },
  { key: 'channels', env: 'HERALD_CHANNELS', flag: 'channels', help: 'channels to configure, JSON', parse: (raw) => parseChannelConfigs(JSON.parse(raw), 'HERALD_CHANNELS') },
  { key: 'channelGroups', env: 'HERALD_CHANNEL_GROUPS', flag: 'channel-groups', help: 'channel groups to configure, JSON', parse: (raw) => parseChannelGroupConfigs(JSON.parse(raw), 'HERALD_CHANNEL_GROUPS') },
  { key: 'emailLayouts', env: 'HERALD_EMAIL_LAYOUTS', flag: 'email-layouts', help: 'email layouts to configure, JSON', parse: (raw) => parseEmailLayouts(JSON.parse(raw), 'HERALD_EMAIL_LAYOUTS') },
];

/** Every setting as a flag, with its environment variable, for the CLI's `--help`. */
export const CONFIG_FLAGS: readonly { flag: string; env: string; help: string }[] = [
  { flag: 'config', env: 'HERALD_CONFIG', help: 'JSON config file (default herald.config.json when present)' },
  ...FIELDS.map((f) => ({ flag: f.flag, env: f.env, help: f.help })),
];

const DEFAULTS: HeraldConfig = {
  port: 3000,
  host: '127.0.0.1',
  publicUrl: undefined,
  databaseUrl: undefined,
  dataDir: '.herald/data',
  workflowsDir: 'workflows',
  secretKey: undefined,
  publicKey: undefined,
  serviceToken: undefined,
  dashboardToken: undefined,
  environments: DEFAULT_ENVIRONMENTS,
  defaultLocale: 'en',
  roles: ['api', 'worker'],
  logLevel: 'info',
  pollIntervalMs: 1000,
  shutdownTimeoutMs: 10_000,
  pgliteSharedBuffers: '128MB',
  signingPublicKey: undefined,
  rateLimitPerKey: 10_000,
  rateLimitPerUser: 200,
  outboundAllowPrivateNetworks: false,
  channels: [],
  channelGroups: [],
  emailLayouts: [],
};

export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const options: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const f of FIELDS) for (const flag of [f.flag, f.alias?.flag]) if (flag) options[flag] = { type: 'string' };
  const { values: flags } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });

  const configPath = (flags.config as string | undefined) ?? env.HERALD_CONFIG ?? (existsSync('herald.config.json') ? 'herald.config.json' : undefined);
  const fromFile: Record<string, unknown> = configPath ? JSON.parse(readFileSync(resolve(configPath), 'utf8')) : {};

  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const f of FIELDS) {
    const flag = (flags[f.flag] ?? (f.alias && flags[f.alias.flag])) as string | undefined;
    const envValue = env[f.env] || (f.alias && env[f.alias.env]);
    const fileValue = fromFile[f.key] ?? (f.alias && fromFile[f.alias.key]);
    if (flag !== undefined) out[f.key] = f.parse(flag);
    else if (envValue !== undefined && envValue !== '') out[f.key] = f.parse(envValue);
    else if (fileValue !== undefined) out[f.key] = typeof fileValue === 'string' ? f.parse(fileValue) : fileValue;
  }
  // A config file's list arrives unparsed; validate it the same way.
  out.channels = parseChannelConfigs(out.channels, 'channels');
  out.channelGroups = parseChannelGroupConfigs(out.channelGroups, 'channelGroups');
  out.emailLayouts = parseEmailLayouts(out.emailLayouts, 'emailLayouts');
  if (out.publicUrl === undefined) {
    const host = out.host === '0.0.0.0' || out.host === '::' ? 'localhost' : String(out.host);
    out.publicUrl = `http://${host.includes(':') ? `[${host}]` : host}:${out.port}`;
  }
  const config = out as unknown as HeraldConfig;
  if (config.secretKey !== undefined && !config.secretKey.startsWith('sk_')) throw new Error('HERALD_SECRET_KEY must start with "sk_"');
  if (config.publicKey !== undefined && !config.publicKey.startsWith('pk_')) throw new Error('HERALD_PUBLIC_KEY must start with "pk_"');
  // A service token must never be mistaken for an API key, nor be guessable.
  if (config.serviceToken !== undefined && (/^(sk|pk)_/.test(config.serviceToken) || config.serviceToken.length < 24)) {
    throw new Error('HERALD_SERVICE_TOKEN must be at least 24 characters and not start with "sk_" or "pk_"');
  }
  if (config.dashboardToken !== undefined && (/^(sk|pk)_/.test(config.dashboardToken) || config.dashboardToken.length < 24)) {
    throw new Error('HERALD_DASHBOARD_TOKEN must be at least 24 characters and not start with "sk_" or "pk_"');
  }
  return Object.freeze(config);
}
