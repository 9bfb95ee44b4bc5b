import { describe, expect, it } from 'vitest';
import { inviteMessage } from '../src/invite';
import { parseRoute } from '../src/router';

describe('invitation links', () => {
  it('routes #/invite/<token> and nothing looser', () => {
    const token = 'a'.repeat(64);
    expect(parseRoute(`#/invite/${token}`)).toEqual({ name: 'invite', token });
    expect(parseRoute('#/invite/')).toEqual({ name: 'home' });
    expect(parseRoute(`#/invite/${token}/x`)).toEqual({ name: 'home' });
    expect(parseRoute('#/invite/<script>')).toEqual({ name: 'home' });
  });

  it('routes #/broadcasts to the past broadcasts view', () => {
    expect(parseRoute('#/broadcasts')).toEqual({ name: 'broadcasts' });
  });

  it('says each refusal in words', () => {
    expect(inviteMessage('invite_used')).toContain('already used');
    expect(inviteMessage('invite_expired')).toContain('expired');
    expect(inviteMessage('invite_revoked')).toContain('withdrawn');
    expect(inviteMessage('invite_unknown')).toContain('not valid');
    expect(inviteMessage('invalid_field', 'a password is 8 to 1024 characters')).toBe(
      'a password is 8 to 1024 characters',
    );
  });
});
