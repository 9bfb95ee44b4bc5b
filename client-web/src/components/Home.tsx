import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { roomHref } from '../router';
import { preview } from './format';
import { HashIcon, LockIcon } from './Icons';

/** The first screen after login: what happened while I was away, what needs me. */
export function Home({ store }: { store: ChatStore }) {
  const rooms = store.roomList.value.filter((r) => r.unread > 0);
  const name = store.me.display_name || store.me.username;
  const online = store.online.value;
  return (
    <section class="home" aria-labelledby="home-title">
      <h1 id="home-title">Welcome back, {name}</h1>
      {!store.loaded.value ? (
        <p class="muted">Loading what you missed…</p>
      ) : rooms.length === 0 ? (
        <p class="muted">You are all caught up.</p>
      ) : (
        <>
          <h2 class="section-title">While you were away</h2>
          <ul class="away-list">
            {rooms.map((r) => (
              <li key={r.id}>
                <a class={`away-item${r.mentions ? ' mentioned' : ''}`} href={roomHref(r.id)}>
                  <span class="away-top">
                    <span class="away-name">
                      <span class="room-icon" aria-hidden="true">
                        {r.info?.kind === 'dm' ? (
                          <span class={`presence-dot${r.info.dm_peer && online.has(r.info.dm_peer.id) ? ' on' : ''}`} />
                        ) : r.info?.visibility === 'private' ? (
                          <LockIcon />
                        ) : (
                          <HashIcon />
                        )}
                      </span>
                      {roomTitle(r)}
                    </span>
                    <span class="away-counts">
                      {r.mentions > 0 && <span class="badge mention">@ {r.mentions}</span>}
                      <span class="badge">{r.unread} new</span>
                    </span>
                  </span>
                  {r.latest && <span class="away-preview">{preview(r.latest)}</span>}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
