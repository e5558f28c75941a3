import { smtpProvider } from './smtp.js';
import type { Provider } from './types.js';

/** Providers by the `provider` name channels configure; add one file per provider and list it here. */
export const providers: ReadonlyMap<string, Provider> = new Map([smtpProvider].map((p) => [p.name, p]));

export type { Provider, OutboundMessage, SendContext, SendResult } from './types.js';
