import { cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type AdminUser } from '../src/api';
import { adminError, PeopleAdmin } from '../src/components/People';
import { mayLeave } from '../src/components/RoomPane';
import { generatePassword, passwordProblem } from '../src/password';
import { parseRoute } from '../src/router';

afterEach(cleanup);

describe('one-time passwords', () => {
  it('are 16 characters of an alphabet without look-alikes, and differ each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{16}$/);
      expect(passwordProblem(p)).toBeNull();
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it('are checked as the server checks them: 8 characters at least', () => {
    expect(passwordProblem('short')).toMatch(/at least 8/);
    expect(passwordProblem('éééééééé')).toBeNull();
    expect(passwordProblem('x'.repeat(1025))).toMatch(/too long/);
  });
});

describe('people administration', () => {
  const user = (username: string, role: AdminUser['user']['role'], disabled = false): AdminUser => ({
    user: { id: `id-${username}`, username, display_name: username.toUpperCase(), role },
    disabled,
    transformation_team: false,
  });

  it('offers role, disable and reset for others, and never lets an admin lock themselves out', () => {
    const { getByLabelText, queryByRole, getByRole } = render(
      <PeopleAdmin
        token="t"
        myId="id-admin"
        users={[user('admin', 'admin'), user('sam', 'staff'), user('dora', 'staff', true)]}
        reload={() => undefined}
      />,
    );
    expect((getByLabelText('Company role of SAM') as HTMLSelectElement).value).toBe('staff');
    expect((getByLabelText('Company role of ADMIN') as HTMLSelectElement).disabled).toBe(true);
    expect(getByRole('button', { name: 'Disable SAM' })).toBeTruthy();
    expect(getByRole('button', { name: 'Enable DORA' })).toBeTruthy();
    expect(queryByRole('button', { name: 'Disable ADMIN' })).toBeNull();
    expect(queryByRole('button', { name: 'Reset password of ADMIN' })).toBeNull();
    fireEvent.click(getByRole('button', { name: 'Reset password of SAM' }));
    expect(getByRole('dialog').textContent).toContain('Reset the password of SAM?');
  });

  it('says API errors in words', () => {
    expect(adminError(new ApiError('name_taken', 'name taken', 409), 'Bob')).toMatch(/“Bob” is taken/);
    expect(adminError(new ApiError('invalid_field', 'a password is 8 to 1024 characters', 400), 'bob')).toBe(
      'a password is 8 to 1024 characters',
    );
  });
});

describe('account and rooms', () => {
  it('has an account route', () => {
    expect(parseRoute('#/account')).toEqual({ name: 'account' });
  });

  it('keeps staff in the organisation room, lets others leave', () => {
    expect(mayLeave({ org_wide: true }, 'staff')).toBe(false);
    expect(mayLeave({ org_wide: true }, 'leader')).toBe(true);
    expect(mayLeave({ org_wide: false }, 'staff')).toBe(true);
    expect(mayLeave(undefined, 'staff')).toBe(true);
  });
});
