import { smtpProvider } from './smtp.js';
import { twilioProvider } from './twilio.js';
import { vonageProvider } from './vonage.js';
import { slackProvider } from './slack.js';
import { msTeamsProvider } from './ms-teams.js';
import { discordProvider } from './discord.js';
import { fcmProvider } from './fcm.js';
import { apnsProvider } from './apns.js';
import { expoProvider } from './expo.js';
import { postmarkProvider } from './postmark.js';
import { resendProvider } from './resend.js';
import { webhookProvider } from './webhook.js';
import type { Provider } from './types.js';

/** Providers by the `provider` name channels configure; add one file per provider and list it here. */
export const providers: ReadonlyMap<string, Provider> = new Map([smtpProvider, twilioProvider, vonageProvider, slackProvider, msTeamsProvider, discordProvider, fcmProvider, apnsProvider, expoProvider, postmarkProvider, resendProvider, webhookProvider].map((p) => [p.name, p]));

export type { Provider, OutboundMessage, SendContext, SendResult } from './types.js';
