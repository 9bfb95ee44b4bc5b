import { useEffect, useState } from 'preact/hooks';
import type { ChatStore, QuestionsInfo } from '../store';
import { roomHref } from '../router';
import { fullTime } from './format';
import { mergePlan, questionKey } from '../merge';
import type { QuestionSort } from '../protocol';
import { VoteButton } from './Votes';

/** "3 h", "2 d": how long something took or has waited. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** Open questions I may answer, in the chosen order, with the open count and answer times. */
export function QuestionsView({ store }: { store: ChatStore }) {
  const [data, setData] = useState<QuestionsInfo | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  /** Questions ticked for merging, by questionKey; and the one to keep. */
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [keep, setKeep] = useState<string | undefined>(undefined);
  const [mergeError, setMergeError] = useState('');
  const [merging, setMerging] = useState(false);
  const [sort, setSort] = useState<QuestionSort>('age');
  const conn = store.connState.value;

  const load = () => {
    setLoading(true);
    setError('');
    store.loadQuestions(sort).then(
      (d) => {
        setData(d);
        // Forget ticks of questions that are no longer open.
        const open = new Set(d.questions.map(questionKey));
        setSelected((sel) => new Set([...sel].filter((k) => open.has(k))));
        setLoading(false);
      },
      (e: unknown) => {
        setError(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
  };
  const tick = store.questionsTick.value;
  // Load on open, after a reconnect, and (shortly after) when questions change.
  useEffect(() => {
    if (conn !== 'connected') return;
    const t = setTimeout(load, tick === 0 ? 0 : 300);
    return () => clearTimeout(t);
  }, [store, conn, tick, sort]);

  const picked = (data?.questions ?? []).filter((q) => selected.has(questionKey(q)));
  const plan = mergePlan(picked, keep);
  const toggle = (key: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(key);
    else next.delete(key);
    setSelected(next);
    setMergeError('');
  };
  const merge = async () => {
    if (!plan.ok) return;
    setMerging(true);
    setMergeError('');
    try {
      await store.mergeQuestions(plan.room, plan.questions, plan.into);
      setSelected(new Set());
      setKeep(undefined);
    } catch (e) {
      setMergeError(`Could not merge: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setMerging(false);
    }
  };

  return (
    <section class="questions-page" aria-labelledby="questions-title" aria-busy={loading} data-testid="questions-view">
      <div class="row">
        <h1 id="questions-title">Questions</h1>
        <button type="button" class="btn subtle" onClick={load} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && (
        <p class="form-error" role="alert">
          Could not load the questions: {error}
        </p>
      )}
      {data && (
        <>
          <dl class="q-stats">
            <div class="q-stat">
              <dt>Open questions</dt>
              <dd data-testid="open-count">{data.open}</dd>
            </div>
            <div class="q-stat">
              <dt>Median time to answer, 7 days</dt>
              <dd>{data.median7d !== undefined ? duration(data.median7d) : '—'}</dd>
            </div>
            <div class="q-stat">
              <dt>Median time to answer, 30 days</dt>
              <dd>{data.median30d !== undefined ? duration(data.median30d) : '—'}</dd>
            </div>
          </dl>
          <div class="row">
            <h2 class="section-title">Waiting for an answer from you</h2>
            <label class="q-sort">
              Sort by{' '}
              <select
                value={sort}
                onChange={(e) => setSort(e.currentTarget.value as QuestionSort)}
                data-testid="question-sort"
              >
                <option value="age">Oldest first</option>
                <option value="votes">Most votes</option>
                <option value="score">Votes and age (score)</option>
              </select>
            </label>
          </div>
          {data.questions.length === 0 ? (
            <p class="muted">No open questions you can answer.</p>
          ) : (
            <ul class="q-list" data-testid="question-list">
              {data.questions.map((q) => (
                <li key={`${q.room}-${q.seq}`} class="q-row">
                  <label class="q-select">
                    <input
                      type="checkbox"
                      checked={selected.has(questionKey(q))}
                      onChange={(e) => toggle(questionKey(q), e.currentTarget.checked)}
                      data-testid="select-question"
                    />
                    <span class="sr-only">Select “{q.body}” to merge</span>
                  </label>
                  <a class="q-item" href={roomHref(q.room, q.seq)} data-testid="open-question">
                    <span class="q-top">
                      <span class="q-room">
                        #<bdi>{q.room_name}</bdi>
                      </span>
                      <bdi>{q.asker.display_name || q.asker.username}</bdi>
                      <span title={fullTime(q.asked_at)}>{q.age_ms < 60_000 ? 'asked just now' : `asked ${duration(q.age_ms)} ago`}</span>
                    </span>
                    <span class="q-body">{q.body}</span>
                  </a>
                  <VoteButton
                    store={store}
                    room={q.room}
                    seq={q.seq}
                    stored={q.votes}
                    mine={q.asker.id === store.me.id}
                    open={true}
                  />
                </li>
              ))}
            </ul>
          )}
          {picked.length > 0 && (
            <div class="merge-bar" role="group" aria-labelledby="merge-title" data-testid="merge-bar">
              <h2 class="section-title" id="merge-title">
                Merge duplicates
              </h2>
              {plan.ok ? (
                <>
                  <fieldset class="merge-keep">
                    <legend>Keep as the main question (one answer will answer all):</legend>
                    {picked.map((q) => (
                      <label key={questionKey(q)} class="merge-choice">
                        <input
                          type="radio"
                          name="merge-into"
                          checked={plan.into === q.seq}
                          onChange={() => setKeep(questionKey(q))}
                        />
                        {q.body}
                      </label>
                    ))}
                  </fieldset>
                  <button type="button" class="btn primary" disabled={merging} onClick={() => void merge()}>
                    Merge {picked.length} questions
                  </button>
                </>
              ) : (
                <p class="muted" role="status">
                  {plan.reason}
                </p>
              )}
              {mergeError && (
                <p class="form-error" role="alert">
                  {mergeError}
                </p>
              )}
            </div>
          )}
        </>
      )}
      {!data && loading && <p class="muted">Loading questions…</p>}
    </section>
  );
}
