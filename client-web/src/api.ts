// The small HTTP API: log in and log out. Everything else goes over the socket.

import type { ErrorBody, LoginResponse } from './protocol';

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
      return 'Enter your username and password.';
    default:
      return fallback || 'Login failed. Try again.';
  }
}
