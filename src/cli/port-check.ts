import { createServer } from 'node:net';
import { CliError } from './errors.js';

/**
 * Fails at once when the API's port cannot be bound, before the database is opened (which takes
 * seconds on PGlite and would otherwise end in a late EADDRINUSE stack trace).
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new CliError(`port ${port} on ${host} is already in use (another Herald?); choose another with PORT or --port`));
      else if (err.code === 'EACCES') reject(new CliError(`not allowed to listen on port ${port} on ${host}; choose a port above 1023 with PORT or --port`));
      else reject(new CliError(`cannot listen on ${host}:${port}: ${err.message}`));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
