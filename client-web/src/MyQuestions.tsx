// "My questions" (issue 13): every question I asked, under my name and
// anonymously (shown to me only: the server lists them from my own key),
// newest first, with where each stands and the answer inline once given.

import { useEffect, useState } from 'preact/hooks';
import { fullTime } from './components/format';
import type { MyQuestion, MyQuestionState, ServerFrame } from './protocol';
import { roomHref } from './router';
import type { ChatStore } from './store';

const STATE_LABEL: Record<MyQuestionState, string> = {
  open: 'Waiting for an answer',
  answered: 'Answered',
  pending: 'Waiting for moderation',
  rejected: 'Not published',
  merged: 'Merged into another question',
  withdrawn: 'Withdrawn',
  deleted: 'Deleted',
};

export function MyQuestionsView({ store }: { store: ChatStore }) {
  const [list, setList] = useState<MyQuestion[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    let live = true;
    store.conn
      .request<Extract<ServerFrame, { type: 'my_questions' }>>({ type: 'my_questions' })
      .then((f) => {
        if (!live) return;
        setList(f.questions);
        setTruncated(f.truncated === true);
      })
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [store]);

  return (
    <section class="questions-page" aria-labelledby="my-questions-title" aria-busy={list === null} data-testid="my-questions-view">
      <h1 id="my-questions-title">My questions</h1>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {list && list.length === 0 && <p class="muted">You have not asked any questions yet.</p>}
      {list && list.length > 0 && (
        <ul class="q-list my-questions">
          {list.map((q) => (
            <li
              key={q.anon_id ?? `${q.room}:${q.seq}`}
              class={`q-row my-question state-${q.state}`}
              data-testid="my-question"
            >
              <div class="msg-tags">
                <span class={`tag${q.state === 'answered' ? ' answered' : ''}`} data-testid="my-question-state">
                  {STATE_LABEL[q.state]}
                </span>
                {q.anonymous && (
                  <span class="tag" title="Only you see that you asked this">
                    Anonymous
                  </span>
                )}
                {q.votes > 0 && (
                  <span class="muted small">
                    {q.votes} {q.votes === 1 ? 'vote' : 'votes'}
                  </span>
                )}
              </div>
              <p class="question-body">
                <bdi>{q.body}</bdi>
              </p>
              <p class="muted small">
                {q.seq !== undefined ? (
                  <a href={roomHref(q.room, q.seq)}>
                    # <bdi>{q.room_name}</bdi>
                  </a>
                ) : (
                  <>
                    # <bdi>{q.room_name}</bdi>
                  </>
                )}{' '}
                · <time dateTime={new Date(q.asked_at).toISOString()}>{fullTime(q.asked_at)}</time>
              </p>
              {q.state === 'rejected' && q.reason && <p class="small">Reason: {q.reason}</p>}
              {q.answer && (
                <blockquote class="my-answer" data-testid="my-question-answer">
                  <p class="small muted">
                    Answer by <bdi>{q.answer.sender.display_name || q.answer.sender.username}</bdi> ·{' '}
                    <time dateTime={new Date(q.answer.ts).toISOString()}>{fullTime(q.answer.ts)}</time>
                  </p>
                  <p>{q.answer.body ? <bdi>{q.answer.body}</bdi> : <em>The answer was deleted.</em>}</p>
                </blockquote>
              )}
            </li>
          ))}
        </ul>
      )}
      {truncated && <p class="muted small">Older questions are not listed.</p>}
    </section>
  );
}
