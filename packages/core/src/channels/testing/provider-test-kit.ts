import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { expect } from 'vitest';
import { createLogger } from '../../platform/logger.js';
import type { Envelope, Provider, SendContext } from '../provider.js';
import { ProviderError } from '../provider-error.js';

/** A send context for provider tests. */
export const testContext: SendContext = { deliveryId: 'd1', notificationId: 'n1', attempt: 1, log: createLogger('silent') };

/** The ProviderError a send fails with (fails the test if it succeeds or throws anything else). */
export async function sendError(p: Provider, envelope: Envelope, ctx: SendContext = testContext): Promise<ProviderError> {
  const err: unknown = await p.send(envelope, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

/** What pino writes for `log.error({ err })`: its serializer prints causes' messages and stacks too. */
export function logged(err: unknown): string {
  const lines: string[] = [];
  pino({}, { write: (line: string) => void lines.push(line) }).error({ err }, 'send failed');
  return lines.join('');
}

/** A 127.0.0.1 port with nothing listening on it (for connection-refused tests). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
