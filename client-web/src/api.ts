// The small HTTP API: log in and log out, and the admin calls (users, audit
// log). Everything else goes over the socket.

import type { AuditEntry, ErrorBody, LoginResponse, Role, UserInfo } from './protocol';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function login(username: string, password: string): Promise<LoginResponse> {
  let res: Response;
  try {
    res = await fetch('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }
  if (!res.ok) throw await toError(res);
  return (await res.json()) as LoginResponse;
}

/** Which logins the server offers (`GET /api/login/sources`). */
export interface LoginSources {
  local: boolean;
  ldap: boolean;
  oidc: boolean;
}

export async function loginSources(): Promise<LoginSources> {
  try {
    const res = await fetch('/api/login/sources');
    if (res.ok) return (await res.json()) as LoginSources;
  } catch {
    // offline: the password form alone
  }
  return { local: true, ldap: false, oidc: false };
}

/**
 * The one-time code the company login (OpenID Connect) left in the address
 * (`#oidc_code=`), or the error it ended with (`#oidc_error=`). Removed from
 * the address and the history entry at once, before anything else runs.
 */
export function takeOidcResult(): { code?: string; error?: string } | null {
  const m = /^#oidc_(code|error)=([A-Za-z0-9_-]{1,128})$/.exec(location.hash);
  if (!/^#oidc_/.test(location.hash)) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  if (!m) return { error: 'oidc_state_mismatch' };
  return m[1] === 'code' ? { code: m[2] } : { error: m[2] };
}

/** Trade the company login's one-time code for the session (once). */
export async function oidcExchange(code: string): Promise<LoginResponse> {
  let res: Response;
  try {
    res = await fetch('/api/oidc/exchange', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch {
    throw new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }
  if (!res.ok) throw await toError(res);
  return (await res.json()) as LoginResponse;
}

/** What the login page says when the company login ended with `code`. */
export function oidcMessage(code: string): string {
  return loginMessage(code);
}

/** Ends the session on the server; its sockets close with 4003. Best effort. */
export async function logout(token: string): Promise<void> {
  try {
    await fetch('/api/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  } catch {
    // Offline: the token stays valid until it expires, but it is gone from
    // this browser, which is what the person asked for.
  }
}

async function toError(res: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // not JSON (a proxy's error page)
  }
  const code = body.code ?? `http_${res.status}`;
  return new ApiError(code, loginMessage(code, body.message), res.status);
}

function loginMessage(code: string, fallback?: string): string {
  switch (code) {
    case 'invalid_credentials':
      return 'That username and password do not match.';
    case 'rate_limited':
      return 'Too many attempts. Wait a minute and try again.';
    case 'missing_field':
    case 'invalid_field':
      return fallback || 'Enter your username and password.';
    case 'oidc_state_mismatch':
      return 'That company login expired or was already used. Try again.';
    case 'oidc_denied':
      return 'Your company account login was cancelled or refused.';
    case 'oidc_token_invalid':
      return 'Your company login could not be verified. Try again, or ask IT.';
    case 'directory_unavailable':
      return 'The company login is unavailable right now. Try again later.';
    case 'account_source_conflict':
      return 'This name belongs to another Townhall account. Ask an administrator.';
    case 'login_source_disabled':
      return 'This kind of login is not enabled on this server.';
    default:
      return fallback || 'Login failed. Try again.';
  }
}

/** One user in `GET /api/admin/users`. */
export interface AdminUser {
  user: UserInfo;
  disabled: boolean;
  transformation_team?: boolean;
  /** `local`, or `ldap` for an account a directory login made. */
  source?: string;
}

/** Fields an admin may change with `PATCH /api/admin/users/{username}`. */
export interface UserPatch {
  role?: Role;
  display_name?: string;
  disabled?: boolean;
  transformation_team?: boolean;
  /** A new password: ends all the person's sessions. */
  password?: string;
}

/** A call to the admin API with the session's token; HTTP errors become ApiError. */
async function adminFetch<T>(token: string, path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      headers: { ...(init.body ? { 'Content-Type': 'application/json' } : {}), Authorization: `Bearer ${token}` },
    });
  } catch {
    throw new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }
  if (!res.ok) {
    let body: Partial<ErrorBody> = {};
    try {
      body = (await res.json()) as ErrorBody;
    } catch {
      // not JSON
    }
    throw new ApiError(body.code ?? `http_${res.status}`, body.message || `Request failed (${res.status}).`, res.status);
  }
  return (await res.json()) as T;
}

export function listUsers(token: string): Promise<AdminUser[]> {
  return adminFetch<AdminUser[]>(token, '/api/admin/users');
}

export function updateUser(token: string, username: string, patch: UserPatch): Promise<UserInfo> {
  return adminFetch<UserInfo>(token, `/api/admin/users/${encodeURIComponent(username)}`, {
    method: 'PATCH',
    body: JSON.stringify(patch),
  });
}

export function auditLog(token: string, limit = 100): Promise<AuditEntry[]> {
  return adminFetch<AuditEntry[]>(token, `/api/admin/audit?limit=${limit}`);
}

/** What an admin sends to `POST /api/admin/users`. */
export interface NewUser {
  username: string;
  display_name: string;
  password: string;
  role: Role;
}

export function createUser(token: string, user: NewUser): Promise<UserInfo> {
  return adminFetch<UserInfo>(token, '/api/admin/users', { method: 'POST', body: JSON.stringify(user) });
}

/**
 * Change my own password (`POST /api/password`, 204). The server then ends
 * all my sessions, this one included: the caller logs out. A wrong old
 * password is 401 `invalid_credentials`.
 */
export async function changePassword(token: string, oldPassword: string, newPassword: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch('/api/password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ old_password: oldPassword, new_password: newPassword }),
    });
  } catch {
    throw new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }
  if (res.ok) return;
  let body: Partial<ErrorBody> = {};
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    // not JSON
  }
  const code = body.code ?? `http_${res.status}`;
  const message =
    code === 'invalid_credentials'
      ? 'Your current password is not right.'
      : code === 'rate_limited'
        ? 'Too many attempts. Wait a minute and try again.'
        : body.message || `Could not change the password (${res.status}).`;
  throw new ApiError(code, message, res.status);
}
