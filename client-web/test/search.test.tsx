import { afterEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import { parseRoute, runSearch, searchAgain, searchHref } from '../src/router';
import { Highlighted, SearchView } from '../src/components/SearchView';
import type { RoomInfo, SearchResult } from '../src/protocol';
import { alice, connectedStore, type FakeSocket } from './fake';

afterEach(cleanup);

const room: RoomInfo = { id: 'g', name: 'general', topic: '', visibility: 'public', kind: 'room', member_count: 2, my_role: 'member' };
const hit: SearchResult = { room: 'g', seq: 4, author: alice, ts: 1_700_000_000_000, snippet: 'a quokka sighting', highlights: [[2, 8]] };

/** The server answers the `n`th search request (from 0). */
function answer(s: FakeSocket, n: number, results: SearchResult[]) {
  const req = s.ofType('search')[n]!;
  s.push({ type: 'search_results', req_id: req.req_id!, results, more: false, index_lag_ms: 0 });
}

describe('search', () => {
  it('routes a query there and back, whatever it holds', () => {
    const q = 'org "chart" in:#général & more?';
    expect(parseRoute(searchHref(q))).toEqual({ name: 'search', q });
  });

  it('marks the highlighted ranges, in UTF-16 offsets', () => {
    const { container } = render(<Highlighted text="😀 the org chart" ranges={[[11, 16], [7, 10]]} />);
    const marks = [...container.querySelectorAll('mark')].map((m) => m.textContent);
    expect(marks).toEqual(['org', 'chart']);
    expect(container.textContent).toBe('😀 the org chart');
  });

  it('ignores ranges outside the text', () => {
    const { container } = render(<Highlighted text="abc" ranges={[[2, 9]]} />);
    expect(container.querySelectorAll('mark')).toHaveLength(0);
    expect(container.textContent).toBe('abc');
  });

  it('Enter on the query shown searches again (the index may hold it by now), in the order chosen', async () => {
    const { store, s } = connectedStore([room]);
    globalThis.location.hash = searchHref('quokka');
    // As App shows it: keyed on the query, searched again on `searchAgain`.
    const View = () => <SearchView key="quokka" store={store} query="quokka" again={searchAgain.value} />;
    const ui = render(<View />);
    await waitFor(() => expect(s.ofType('search')).toHaveLength(1));
    answer(s, 0, []);
    await waitFor(() => expect(ui.getByText('No messages found.')).toBeTruthy());

    fireEvent.click(ui.getByRole('radio', { name: 'Best match' }));
    await waitFor(() => expect(s.ofType('search')).toHaveLength(2));
    // Enter on the same words, before the first answer in this order came.
    act(() => runSearch('quokka'));
    await waitFor(() => expect(s.ofType('search')).toHaveLength(3));
    expect(s.ofType('search')[2]).toMatchObject({ query: 'quokka', sort: 'relevance' });
    answer(s, 2, [hit]);
    await waitFor(() => expect(ui.getAllByTestId('search-result')).toHaveLength(1));
    // The answer to the search asked for before arrives late: dropped.
    answer(s, 1, []);
    // Its handling is all promise callbacks: done before the next task.
    await act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    expect(ui.getAllByTestId('search-result')).toHaveLength(1);
    expect(ui.getByTestId('search-result').querySelector('mark')!.textContent).toBe('quokka');
    store.stop();
  });

  it('other words are a new page to go to, not the shown one again', () => {
    globalThis.location.hash = searchHref('quokka');
    const before = searchAgain.value;
    runSearch('"org chart" has:link');
    expect(globalThis.location.hash).toBe(searchHref('"org chart" has:link'));
    expect(searchAgain.value).toBe(before);
    runSearch('"org chart" has:link');
    expect(searchAgain.value).toBe(before + 1);
  });
});
