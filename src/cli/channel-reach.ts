/**
 * `herald doctor`'s reachability checks: can this machine reach what each configured channel
 * delivers to? Each address is tried the way a delivery reaches it:
 * - SMTP: nodemailer's `verify()` with the channel's own connection settings (TCP, greeting,
 *   STARTTLS, AUTH when a user is set), so a wrong password shows here too;
 * - HTTP providers: a TCP connection (and the TLS handshake for https) to the origin a send
 *   would call: the channel's `base_url` or the provider's default. Operator configuration is
 *   trusted, as in deliveries, so private addresses are allowed;
 * - webhook channels: their URL comes from each workflow's template, so the literal URLs of the
 *   loaded workflows (those without Liquid) are tried, through the outbound address guard as a
 *   delivery is (a refused address fails without a connection being made);
 * - addresses that come from recipients' channel data (Teams, Slack and Discord incoming
 *   webhooks) cannot be known here and are not tried.
 * Only hosts and ports are printed: never paths, query strings, user names or passwords.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import nodemailer from 'nodemailer';
import { smtpConnectionOptions } from '../providers/smtp.js';
import { checkHost, guardedLookup } from '../net/ssrf-guard.js';
import type { WorkflowDefinition } from '../domain/workflow.js';

export interface ReachCheck { name: string; ok: boolean; detail: string }

export interface ReachableChannel {
  key: string;
  type: string;
  provider: string;
  settings: Record<string, unknown>;
  fallbacks?: { provider: string; settings?: Record<string, unknown> }[];
}

export interface ReachOptions {
  /** Per address; every address is tried at once. */
  timeoutMs: number;
  /** HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS: the guard is off for every channel. */
  allowPrivateNetworks: boolean;
  /** The workflows the doctor loaded, for webhook URLs. */
  workflows: WorkflowDefinition[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const baseUrl = (fallback: string) => (s: Record<string, unknown>) => [str(s.base_url) ?? fallback];

/** The origins each HTTP provider calls, from its settings (defaults as in src/providers/<name>.ts). */
const PROVIDER_ORIGINS: Record<string, (s: Record<string, unknown>) => string[]> = {
  twilio: baseUrl('https://api.twilio.com'),
  vonage: baseUrl('https://api.nexmo.com'),
  postmark: baseUrl('https://api.postmarkapp.com'),
  resend: baseUrl('https://api.resend.com'),
  expo: baseUrl('https://exp.host'),
  // Bot-token sends; incoming webhooks come from channel data.
  slack: baseUrl('https://slack.com'),
  discord: baseUrl('https://discord.com'),
  apns: (s) => [str(s.base_url) ?? (s.environment === 'development' ? 'https://api.sandbox.push.apple.com' : 'https://api.push.apple.com')],
  fcm: (s) => {
    let account = s.service_account;
    if (typeof account === 'string') {
      try { account = JSON.parse(account); } catch { account = undefined; }
    }
    const tokenUri = str((account as Record<string, unknown> | undefined)?.token_uri) ?? 'https://oauth2.googleapis.com/token';
    return [str(s.base_url) ?? 'https://fcm.googleapis.com', tokenUri];
  },
};

/** Providers whose every address comes from recipients' channel data. */
const DATA_ADDRESSED = new Set(['ms_teams']);

const endpoint = (url: URL) => `${url.hostname}:${portOf(url)}`;
const portOf = (url: URL) => Number(url.port) || (url.protocol === 'https:' ? 443 : 80);

/** Every error message goes through this: secret-looking setting values never reach the output. */
function scrub(text: string, settings: Record<string, unknown>): string {
  let out = text;
  for (const [k, v] of Object.entries(settings)) {
    if (typeof v === 'string' && v.length >= 4 && /pass|secret|token|key|auth|user|sid/i.test(k)) out = out.split(v).join('[REDACTED]');
  }
  return out;
}

/**
 * A TCP connection (plus the TLS handshake for https) to `url`'s origin within `timeoutMs`:
 * undefined when it succeeded, else why not. `guarded` applies the SSRF guard as the outbound
 * client does: IP literals checked first, names checked on every address they resolve to.
 */
export function connectCheck(url: URL, timeoutMs: number, guarded: boolean): Promise<string | undefined> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = portOf(url);
  if (guarded) {
    try { checkHost(host); } catch (err) { return Promise.resolve((err as Error).message); }
  }
  return new Promise((resolve) => {
    const lookup = guarded ? { lookup: guardedLookup } : {};
    const socket: Socket = url.protocol === 'https:'
      ? tlsConnect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['h2', 'http/1.1'], ...lookup })
      : netConnect({ host, port, ...lookup });
    const timer = setTimeout(() => done(`no connection to ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    function done(problem?: string) {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    }
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => done());
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ERR_HERALD_REFUSED_ADDRESS' ? err.message : `${host}:${port}: ${err.message}`));
  });
}

async function smtpCheck(settings: Record<string, unknown>, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const options = smtpConnectionOptions(settings);
  const where = `SMTP server ${options.host ?? '(no host)'}:${options.port}`;
  if (!options.host) return { ok: false, detail: `${where}: the channel sets no host` };
  const transport = nodemailer.createTransport({ ...options, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  try {
    await transport.verify();
    return { ok: true, detail: `${where} answers${options.auth ? ' and accepts the login' : ''}` };
  } catch (err) {
    return { ok: false, detail: `${where}: ${scrub((err as Error).message, settings)}` };
  } finally {
    transport.close();
  }
}

/** Literal `url`s of the webhook templates of channel steps that use `channelKey` (Liquid ones vary per message). */
function webhookUrls(workflows: WorkflowDefinition[], channelKey: string): { urls: URL[]; templated: number } {
  const urls = new Map<string, URL>();
  let templated = 0;
  const visit = (node: unknown) => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const template = o.template as Record<string, unknown> | undefined;
    if (o.type === 'channel' && o.channel_key === channelKey && typeof template?.url === 'string') {
      if (/{[{%]/.test(template.url)) templated += 1;
      else {
        try {
          const url = new URL(template.url.trim());
          if (url.protocol === 'http:' || url.protocol === 'https:') urls.set(url.origin, url);
        } catch { /* the workflow check reports bad templates */ }
      }
    }
    Object.values(o).forEach(visit);
  };
  visit(workflows);
  return { urls: [...urls.values()], templated };
}

/** The checks of one provider of one channel (its primary or a fallback). */
async function providerChecks(channel: ReachableChannel, provider: string, settings: Record<string, unknown>, opts: ReachOptions): Promise<ReachCheck[]> {
  const name = `channel ${channel.key} (${provider})`;
  if (channel.type === 'in_app_feed') return [];
  if (provider === 'smtp') return [{ name, ...await smtpCheck(settings, opts.timeoutMs) }];
  if (DATA_ADDRESSED.has(provider)) return [{ name, ok: true, detail: 'not checked: each recipient\'s channel data holds the address' }];
  if (provider === 'webhook') {
    const { urls, templated } = webhookUrls(opts.workflows, channel.key);
    const guarded = !opts.allowPrivateNetworks && settings.allow_private_networks !== true;
    const checks = await Promise.all(urls.map(async (url) => {
      const problem = await connectCheck(url, opts.timeoutMs, guarded);
      return { name, ok: !problem, detail: problem ?? `${endpoint(url)} reachable${guarded ? ' (through the outbound address guard)' : ''}` };
    }));
    if (checks.length === 0) {
      checks.push({ name, ok: true, detail: templated > 0 ? 'not checked: its workflows\' URLs are Liquid templates' : 'not checked: no loaded workflow sends to it' });
    }
    return checks;
  }
  const origins = PROVIDER_ORIGINS[provider];
  if (!origins) return [{ name, ok: true, detail: `not checked: no address known for provider "${provider}"` }];
  return Promise.all(origins(settings).map(async (raw) => {
    let url: URL;
    try { url = new URL(raw); } catch { return { name, ok: false, detail: 'base_url is not a URL' }; }
    const problem = await connectCheck(url, opts.timeoutMs, false);
    return { name, ok: !problem, detail: problem ? scrub(problem, settings) : `${endpoint(url)} reachable` };
  }));
}

/** Every configured channel's providers (fallbacks included), tried at once. */
export async function channelReachChecks(channels: ReachableChannel[], opts: ReachOptions): Promise<ReachCheck[]> {
  const perProvider = channels.flatMap((c) => [{ provider: c.provider, settings: c.settings ?? {} }, ...(c.fallbacks ?? []).map((f) => ({ provider: f.provider, settings: f.settings ?? {} }))]
    .map((p) => providerChecks(c, p.provider, p.settings, opts)));
  return (await Promise.all(perProvider)).flat();
}
