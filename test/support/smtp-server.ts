import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

/**
 * A real SMTP server on loopback (`smtp-server`) that requires AUTH with the given password and
 * answers each DATA with the next scripted reply code (then 250), keeping what it accepted.
 */
export class LoopbackSmtp {
  readonly received: ParsedMail[] = [];
  /** Reply codes for the next DATA commands; an empty script accepts. */
  script: number[] = [];
  attempts = 0;
  port = 0;
  private readonly server: SMTPServer;

  constructor(readonly password: string, readonly user = 'herald') {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth: (auth, _session, cb) => (auth.username === this.user && auth.password === this.password
        ? cb(null, { user: this.user })
        : cb(new Error('bad credentials'))),
      onData: (stream, _session, cb) => {
        this.attempts += 1;
        const code = this.script.shift();
        simpleParser(stream).then((mail) => {
          if (code !== undefined && code !== 250) {
            cb(Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code }));
            return;
          }
          this.received.push(mail);
          cb();
        }, cb);
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Channel settings that reach this server. */
  settings(from = 'Herald <noreply@herald.test>'): Record<string, unknown> {
    return { host: '127.0.0.1', port: this.port, ignore_tls: true, user: this.user, password: this.password, from };
  }
}
