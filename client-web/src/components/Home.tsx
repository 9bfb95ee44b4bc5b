import { useEffect, useState } from 'preact/hooks';
import type { ChatEvent } from '../protocol';
import type { ChatStore, RoomState } from '../store';
import { roomTitle } from '../store';
import { roomHref } from '../router';
import { gist, preview } from './format';
import { HashIcon, LockIcon } from './Icons';
import { PinnedAcks } from './Broadcasts';
import { Setup } from './Setup';

/**
 * The first screen after login: what needs me first (broadcasts waiting for
 * my acknowledgement, answers to my questions, rooms where I was mentioned),
 * then the other rooms with news, most recent first.
 */
export function Home({ store, onCreateRoom }: { store: ChatStore; onCreateRoom: () => void }) {
  const rooms = store.roomList.value.filter((r) => r.unread > 0);
  const mentioned = rooms.filter((r) => r.mentions > 0);
  const others = rooms.filter((r) => r.mentions === 0);
  const name = store.me.display_name || store.me.username;
  return (
    <section class="home" aria-labelledby="home-title">
      <h1 id="home-title" tabIndex={-1}>Welcome back, <bdi>{name}</bdi>
      </h1>
      <Setup store={store} onCreateRoom={onCreateRoom} />
      <PinnedAcks store={store} />
      <MyAnswers store={store} />
      {!store.loaded.value ? (
        <p class="muted">Loading what you missed…</p>
      ) : rooms.length === 0 ? (
        store.pendingAcks.value.length === 0 && answersForMe(store).length === 0 && <p class="muted">You are all caught up.</p>
      ) : (
        <>
          {mentioned.length > 0 && <AwayList store={store} title="You were mentioned" rooms={mentioned} testId="away-mentioned" />}
          {others.length > 0 && <AwayList store={store} title="While you were away" rooms={others} testId="away-rooms" />}
        </>
      )}
    </section>
  );
}

function AwayList({ store, title, rooms, testId }: { store: ChatStore; title: string; rooms: RoomState[]; testId: string }) {
  const online = store.online.value;
  return (
    <>
      <h2 class="section-title">{title}</h2>
      <ul class="away-list" data-testid={testId}>
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
                  <bdi>{roomTitle(r)}</bdi>
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
  );
}

interface MyAnswer {
  room: string;
  roomName: string;
  question: ChatEvent;
  answer: number;
}

/**
 * Unread `answered` events for questions I asked, from the timelines this
 * device holds (the backlog and live events): cheap, and empty when unknown.
 */
function answersForMe(store: ChatStore): MyAnswer[] {
  const out: MyAnswer[] = [];
  for (const r of store.roomList.value) {
    for (const e of r.timeline.run) {
      if (e.content.kind !== 'answered' || e.seq <= r.readSeq) continue;
      const q = e.content.question;
      const question = r.timeline.run.find((x) => x.seq === q);
      if (!question || question.sender.id !== store.me.id || question.content.kind !== 'message') continue;
      out.push({ room: r.id, roomName: roomTitle(r), question, answer: e.content.answer });
    }
  }
  return out;
}

function MyAnswers({ store }: { store: ChatStore }) {
  const list = answersForMe(store);
  if (list.length === 0) return null;
  return (
    <section aria-labelledby="answers-title" data-testid="my-answers">
      <h2 class="section-title" id="answers-title">
        Answers to your questions
      </h2>
      <ul class="away-list">
        {list.map((a) => (
          <li key={`${a.room}-${a.question.seq}`}>
            <a class="away-item" href={roomHref(a.room, a.answer)}>
              <span class="away-top">
                <bdi class="away-name">{a.roomName}</bdi>
                <span class="badge">Answered</span>
              </span>
              <span class="away-preview">
                <span class="sr-only">Your question: </span>
                {preview(a.question)}
              </span>
              <AnswerText store={store} room={a.room} seq={a.answer} />
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The answer itself under the question, fetched once if this device does
 * not hold it (the answer may be older than the loaded timeline). */
function AnswerText({ store, room, seq }: { store: ChatStore; room: string; seq: number }) {
  const [answer, setAnswer] = useState<ChatEvent | null | undefined>(undefined);
  useEffect(() => {
    let stale = false;
    store.fetchEvent(room, seq).then(
      (e) => {
        if (!stale) setAnswer(e ?? null);
      },
      () => {
        if (!stale) setAnswer(null);
      },
    );
    return () => {
      stale = true;
    };
  }, [room, seq]);
  if (!answer) return null;
  const who = answer.sender.display_name || answer.sender.username;
  return (
    <span class="away-answer" data-testid="my-answer-text">
      <span class="answer-by">
        <bdi>{who}</bdi> answered:
      </span>{' '}
      {gist(answer)}
    </span>
  );
}
