import { isChannel, type Channel } from '@notify/core/platform';

/**
 * The channels a worker process serves: `--channel email --channel sms`,
 * `email sms`, or `WORKER_CHANNELS=email,sms`. The command line wins.
 */
export function parseChannels(argv: string[], fromEnv: string): Channel[] {
  const args = argv.filter((a) => a !== '--channel').flatMap((a) => a.replace(/^--channel=/, '').split(','));
  const names = (args.length > 0 ? args : fromEnv.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !isChannel(n));
  if (unknown.length > 0) throw new Error(`Unknown channel(s): ${unknown.join(', ')}`);
  if (names.length === 0) throw new Error('No channel to serve');
  return [...new Set(names)] as Channel[];
}
