// Search results: one page at a time, newest first or best match first,
// each a link that opens the room at that message (`#/room/<id>?at=<seq>`: the page around it,
// the message highlighted).

import { useEffect, useRef, useState } from 'preact/hooks';
import type { SearchResult } from '../protocol';
import { RequestError } from '../connection';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { roomHref } from '../router';

type Sort = 'newest' | 'relevance';

const SORTS: [Sort, string][] = [
  ['newest', 'Newest first'],
  ['relevance', 'Best match'],
];

interface State {
  results: SearchResult[];
  cursor?: string | undefined;
  loading: boolean;
  error?: string | undefined;
  lagMs: number;
}

/** `title`: a view built on one fixed query (Mentions: `mentions:me`).
 * `again`: a change searches anew (the same query asked for again). */
export function SearchView({ store, query, title, again = 0 }: { store: ChatStore; query: string; title?: string; again?: number }) {
  const [state, setState] = useState<State>({ results: [], loading: true, lagMs: 0 });
  const [sort, setSort] = useState<Sort>('newest');
  // Which load is the latest: the answer to an earlier one (a page of the
  // other order, a search asked for again since) arrives late and is dropped.
  const latest = useRef(0);

  const load = async (cursor?: string, order: Sort = sort) => {
    const mine = ++latest.current;
    setState((s) => ({ ...s, loading: true, error: undefined, ...(cursor === undefined ? { results: [] } : {}) }));
    try {
      const page = await store.search(query, cursor, order);
      if (latest.current !== mine) return;
      setState((s) => ({
        results: cursor === undefined ? page.results : [...s.results, ...page.results],
        cursor: page.more ? page.next_cursor : undefined,
        loading: false,
        lagMs: page.index_lag_ms,
      }));
    } catch (e) {
      if (latest.current !== mine) return;
      const message = e instanceof RequestError ? e.message : String(e);
      setState((s) => ({ ...s, loading: false, error: message }));
    }
  };

  useEffect(() => {
    void load();
    // A new query is a new view (keyed on the query in App); the same one
    // asked for again is searched again, in the order chosen.
  }, [again]);

  const rooms = store.rooms.value;
  return (
    <section class="search-view" aria-labelledby="search-title" data-testid="search-view">
      <h1 id="search-title">
        {title ?? (
          <>
            Results for <q>{query}</q>
          </>
        )}
      </h1>
      {!title && (
        <div class="search-sort" role="radiogroup" aria-label="Order">
          {SORTS.map(([value, label]) => (
            <label key={value}>
              <input
                type="radio"
                name="search-sort"
                value={value}
                checked={sort === value}
                onChange={() => {
                  setSort(value);
                  void load(undefined, value);
                }}
              />{' '}
              {label}
            </label>
          ))}
        </div>
      )}
      {state.error && (
        <p role="alert" class="muted">
          {state.error}
        </p>
      )}
      {state.lagMs > 1000 && <p class="muted">The newest messages may not be searchable yet.</p>}
      {!state.loading && !state.error && state.results.length === 0 && <p class="muted">{title ? 'Nothing here yet.' : 'No messages found.'}</p>}
      <ol class="search-results" aria-label={title ?? 'Search results'}>
        {state.results.map((r) => {
          const room = rooms.get(r.room);
          return (
            <li key={`${r.room}/${r.seq}`} class="search-result" data-testid="search-result">
              <a href={roomHref(r.room, r.seq)}>
                <div class="search-meta">
                  <bdi>{room ? roomTitle(room) : 'a room'}</bdi> · <bdi>{r.author.display_name || r.author.username}</bdi> ·{' '}
                  <time dateTime={new Date(r.ts).toISOString()}>{new Date(r.ts).toLocaleString()}</time>
                </div>
                <div class="search-snippet">
                  <Highlighted text={r.snippet} ranges={r.highlights ?? []} />
                </div>
              </a>
            </li>
          );
        })}
      </ol>
      {state.loading && <p class="muted">Searching…</p>}
      {state.cursor !== undefined && !state.loading && (
        <button type="button" class="btn" onClick={() => void load(state.cursor, sort)}>
          More results
        </button>
      )}
    </section>
  );
}

/** `text` with each range (UTF-16 offsets, as JavaScript indexes) in a <mark>. */
export function Highlighted({ text, ranges }: { text: string; ranges: readonly [number, number][] }) {
  const parts = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at || end > text.length || start >= end) continue;
    if (start > at) parts.push(text.slice(at, start));
    parts.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <>{parts}</>;
}
