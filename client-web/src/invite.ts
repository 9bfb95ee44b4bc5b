// Invitation links (`/api/admin/invitations`, `/api/invite/*`): an admin
// invites a username and gets `<origin>/#/invite/<token>` once; the person
// opens it, chooses a password and is logged in. The token travels only in
// request bodies and after `#` (never sent to a server by the browser).

import { ApiError } from './api';
import type { ErrorBody, LoginResponse, Role, UserInfo } from './protocol';

export type InvitationState = 'pending' | 'used' | 'revoked';

/** One invitation as admins see it (`protocol::invite::Invitation`). */
export interface Invitation {
  id: string;
  user: UserInfo;
  by: UserInfo;
  created_at: number;
  expires_at: number;
  state: InvitationState;
}

export interface InvitationInfo {
  username: string;
  display_name: string;
  role: Role;
  expires_at: number;
}

/** The link to hand over for a token, on this server's own address. */
export function inviteLink(token: string): string {
  return `${location.origin}/#/invite/${token}`;
}

/** An invitation error in words, for the person holding the link. */
export function inviteMessage(code: string, fallback?: string): string {
  switch (code) {
    case 'invite_unknown':
      return 'This invitation link is not valid. Check that you copied all of it, or ask for a new one.';
    case 'invite_used':
      return 'This invitation link was already used. Log in with the password chosen then.';
    case 'invite_expired':
      return 'This invitation link has expired. Ask an administrator for a new one.';
    case 'invite_revoked':
      return 'This invitation link was withdrawn. Ask an administrator for a new one.';
    case 'name_taken':
      return 'An account with this username exists already. Ask an administrator.';
    default:
      return fallback || 'Something went wrong. Try again.';
  }
}

async function call<T>(path: string, init: RequestInit, token?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      headers: {
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
    });
  } catch {
    throw new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
  }
  if (!res.ok) {
    let body: Partial<ErrorBody> = {};
    try {
      body = (await res.json()) as ErrorBody;
    } catch {
      // not JSON (a proxy's page)
    }
    const code = body.code ?? `http_${res.status}`;
    throw new ApiError(code, inviteMessage(code, body.message), res.status);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export function createInvitation(
  token: string,
  req: { username: string; display_name: string; role: Role },
): Promise<{ token: string; invitation: Invitation }> {
  return call('/api/admin/invitations', { method: 'POST', body: JSON.stringify(req) }, token);
}

export function listInvitations(token: string): Promise<Invitation[]> {
  return call('/api/admin/invitations', {}, token);
}

export function revokeInvitation(token: string, id: string): Promise<void> {
  return call(`/api/admin/invitations/${encodeURIComponent(id)}`, { method: 'DELETE' }, token);
}

export function invitationInfo(inviteToken: string): Promise<InvitationInfo> {
  return call('/api/invite/info', { method: 'POST', body: JSON.stringify({ token: inviteToken }) });
}

export function redeemInvitation(inviteToken: string, password: string): Promise<LoginResponse> {
  return call('/api/invite/redeem', { method: 'POST', body: JSON.stringify({ token: inviteToken, password }) });
}
