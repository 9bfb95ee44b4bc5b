import { useEffect, useState } from 'preact/hooks';
import { listUsers, type AdminUser } from '../api';
import { adminHref } from '../router';
import type { ChatStore } from '../store';

/**
 * The first admin's guide on a new install, at the top of Home: create the
 * first rooms, add people, name the transformation team. Each step is
 * ticked from what the server holds (rooms I am in, the admin's user list),
 * so it reflects work done anywhere (another admin, the CLI, a directory
 * login). Shown to admins until every step is done or it is dismissed on
 * this browser.
 */

const DISMISSED_KEY = 'townhall.setup.dismissed';

export interface SetupSteps {
  rooms: boolean;
  people: boolean;
  team: boolean;
}

/** Which steps are done: a room besides the organisation's (not a DM),
 * someone besides the admins, someone on the transformation team. */
export function setupSteps(store: ChatStore, users: readonly AdminUser[]): SetupSteps {
  const rooms = store.roomList.value.some((r) => r.info?.kind === 'room' && !r.info.org_wide);
  const people = users.some((u) => u.user.role !== 'admin');
  const team = users.some((u) => u.transformation_team);
  return { rooms, people, team };
}

/** Hidden by the admin, or every step seen done once: no more user-list
 * fetches on later visits to Home (the list is unpaged). */
function dismissed(userId: string): boolean {
  try {
    return localStorage.getItem(`${DISMISSED_KEY}.${userId}`) === '1';
  } catch {
    return false;
  }
}

function remember(userId: string): void {
  try {
    localStorage.setItem(`${DISMISSED_KEY}.${userId}`, '1');
  } catch {
    // Private mode: hidden for this visit only.
  }
}

export function Setup({ store, onCreateRoom }: { store: ChatStore; onCreateRoom: () => void }) {
  const admin = store.me.role === 'admin';
  const [users, setUsers] = useState<readonly AdminUser[] | null>(null);
  const [hidden, setHidden] = useState(() => dismissed(store.me.id));
  useEffect(() => {
    if (!admin || hidden) return;
    let stale = false;
    listUsers(store.token).then(
      (u) => {
        if (!stale) setUsers(u);
      },
      () => undefined,
    );
    return () => {
      stale = true;
    };
  }, [admin, hidden]);
  if (!admin || hidden || !users) return null;
  const steps = setupSteps(store, users);
  if (steps.rooms && steps.people && steps.team) {
    remember(store.me.id);
    return null;
  }
  const done = [steps.rooms, steps.people, steps.team].filter(Boolean).length;
  const dismiss = () => {
    remember(store.me.id);
    setHidden(true);
    // The focused button goes away with the guide: focus the page's heading.
    document.getElementById('home-title')?.focus();
  };
  return (
    <section class="setup" aria-labelledby="setup-title" data-testid="setup">
      <h2 class="section-title" id="setup-title">
        Set up Townhall <span class="muted small">({done} of 3 done)</span>
      </h2>
      <ol class="setup-steps">
        <li class={steps.rooms ? 'done' : ''} data-testid="setup-rooms">
          <span class="setup-mark" aria-hidden="true">{steps.rooms ? '✓' : '1'}</span>
          <span class="setup-text">
            <strong>Create the first rooms</strong>, e.g. one per team or topic. Everyone is already in Announcements.
            {steps.rooms && <span class="sr-only"> Done.</span>}
          </span>
          {!steps.rooms && (
            <button type="button" class="btn" onClick={onCreateRoom}>
              New room
            </button>
          )}
        </li>
        <li class={steps.people ? 'done' : ''} data-testid="setup-people">
          <span class="setup-mark" aria-hidden="true">{steps.people ? '✓' : '2'}</span>
          <span class="setup-text">
            <strong>Add people</strong>: create their accounts (each gets a one-time password), or connect the company directory
            (see the operations guide).
            {steps.people && <span class="sr-only"> Done.</span>}
          </span>
          {!steps.people && (
            <a class="btn" href={adminHref}>
              Add people
            </a>
          )}
        </li>
        <li class={steps.team ? 'done' : ''} data-testid="setup-team">
          <span class="setup-mark" aria-hidden="true">{steps.team ? '✓' : '3'}</span>
          <span class="setup-text">
            <strong>Name the transformation team</strong>: they see and answer everyone's questions and moderate anonymous ones.
            {steps.team && <span class="sr-only"> Done.</span>}
          </span>
          {!steps.team && (
            <a class="btn" href={adminHref}>
              Choose the team
            </a>
          )}
        </li>
      </ol>
      <button type="button" class="btn link small" onClick={dismiss}>
        Hide this guide
      </button>
    </section>
  );
}
