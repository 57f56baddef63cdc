import { describe, expect, it } from 'vitest';
import { parseChannels } from './channels-arg.js';

describe('parseChannels', () => {
  it('takes channels from the command line before the environment', () => {
    expect(parseChannels(['--channel', 'email', '--channel=sms'], 'push')).toEqual(['email', 'sms']);
    expect(parseChannels(['email,in_app'], 'push')).toEqual(['email', 'in_app']);
    expect(parseChannels([], 'push, webhook')).toEqual(['push', 'webhook']);
  });

  it('refuses an unknown channel or none', () => {
    expect(() => parseChannels(['fax'], '')).toThrow(/Unknown channel.*fax/);
    expect(() => parseChannels([], ' , ')).toThrow(/No channel/);
  });
});
