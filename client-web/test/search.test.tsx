import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/preact';
import { parseRoute, searchHref } from '../src/router';
import { Highlighted } from '../src/components/SearchView';

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
});
