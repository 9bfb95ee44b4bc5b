// My own profile (issue 13): setting my display name, and following the
// names others set for themselves. The server answers `set_display_name`
// with `user_updated` and pushes the same frame (without a req_id) to every
// online session, so the people list and the members lists follow live;
// a message keeps the name its sender had when it was sent.

import { signal, type Signal } from '@preact/signals';
import { noteAvatar } from './avatar';
import type { ClientFrame, MemberInfo, RoomId, ServerFrame, UserInfo } from './protocol';

type Request = <T extends ServerFrame>(frame: ClientFrame) => Promise<T>;

/** Longest display name, in characters (protocol `MAX_DISPLAY_NAME_CHARS`). */
export const MAX_DISPLAY_NAME_CHARS = 64;

/** Why the server would refuse this name (the same rules), or null. */
export function displayNameProblem(raw: string): string | null {
  const name = raw.trim();
  if (!name) return 'Enter a display name.';
  if ([...name].length > MAX_DISPLAY_NAME_CHARS) return `A display name is at most ${MAX_DISPLAY_NAME_CHARS} characters.`;
  // Control characters and bidirectional-text controls (as on the server).
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/.test(name)) {
    return 'A display name may not contain control characters.';
  }
  return null;
}

/** Replace the user with the same id in a list (a new list if changed). */
export function replaceUser<T>(list: readonly T[], user: UserInfo, get: (t: T) => UserInfo, set: (t: T, u: UserInfo) => T): readonly T[] {
  let changed = false;
  const next = list.map((t) => {
    if (get(t).id !== user.id) return t;
    changed = true;
    return set(t, user);
  });
  return changed ? next : list;
}

export class Profile {
  /** Me as the server last described me (welcome, or my own change). */
  readonly me = signal<UserInfo | null>(null);

  constructor(
    private readonly request: Request,
    private readonly users: Signal<readonly UserInfo[]>,
    private readonly members: Signal<ReadonlyMap<RoomId, readonly MemberInfo[]>>,
    private readonly onMe: (u: UserInfo) => void,
  ) {}

  /** Set my display name; resolves with me as now stored. */
  async setDisplayName(name: string): Promise<UserInfo> {
    const f = await this.request<Extract<ServerFrame, { type: 'user_updated' }>>({
      type: 'set_display_name',
      display_name: name,
    });
    this.apply(f.user);
    return f.user;
  }

  /** Handle a frame meant for this module; false when it is not one. */
  handleFrame(f: ServerFrame): boolean {
    if (f.type !== 'user_updated') return false;
    this.apply(f.user);
    return true;
  }

  private apply(user: UserInfo): void {
    noteAvatar(user);
    if (this.me.value?.id === user.id) {
      this.me.value = user;
      this.onMe(user);
    }
    this.users.value = replaceUser(this.users.value, user, (u) => u, (_, u) => u);
    let changed = false;
    const next = new Map(this.members.value);
    for (const [room, list] of next) {
      const updated = replaceUser(list, user, (m) => m.user, (m, u) => ({ ...m, user: u }));
      if (updated !== list) {
        next.set(room, updated);
        changed = true;
      }
    }
    if (changed) this.members.value = next;
  }
}
