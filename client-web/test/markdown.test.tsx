import { cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageText } from '../src/components/MessageText';
import { isLong, parse, parseInline, plainLine, safeHref } from '../src/markdown';

afterEach(cleanup);

describe('inline formatting', () => {
  it('parses bold, italic, strikethrough and code', () => {
    expect(parseInline('a **b** *c* ~~d~~ `e`')).toEqual([
      { t: 'text', v: 'a ' },
      { t: 'strong', c: [{ t: 'text', v: 'b' }] },
      { t: 'text', v: ' ' },
      { t: 'em', c: [{ t: 'text', v: 'c' }] },
      { t: 'text', v: ' ' },
      { t: 'del', c: [{ t: 'text', v: 'd' }] },
      { t: 'text', v: ' ' },
      { t: 'code', v: 'e' },
    ]);
  });

  it('nests emphasis, and leaves code alone', () => {
    expect(parseInline('**bold *and italic***')).toEqual([
      { t: 'strong', c: [{ t: 'text', v: 'bold ' }, { t: 'em', c: [{ t: 'text', v: 'and italic' }] }] },
    ]);
    expect(parseInline('`**not bold** <b>`')).toEqual([{ t: 'code', v: '**not bold** <b>' }]);
  });

  it('keeps snake_case, lone stars and spaced stars as text', () => {
    expect(parseInline('my_var_name')).toEqual([{ t: 'text', v: 'my_var_name' }]);
    expect(parseInline('2 * 3 * 4')).toEqual([{ t: 'text', v: '2 * 3 * 4' }]);
    expect(parseInline('**unclosed')).toEqual([{ t: 'text', v: '**unclosed' }]);
    expect(parseInline('_yes_')).toEqual([{ t: 'em', c: [{ t: 'text', v: 'yes' }] }]);
  });

  it('finds @mentions but not e-mail addresses', () => {
    expect(parseInline('hi @bob-ops!')).toEqual([{ t: 'text', v: 'hi ' }, { t: 'mention', name: 'bob-ops' }, { t: 'text', v: '!' }]);
    expect(parseInline('mail a@b.org')).toEqual([{ t: 'text', v: 'mail a@b.org' }]);
  });

  it('links labelled and bare http(s) and www. addresses, trimming sentence punctuation', () => {
    expect(parseInline('[docs](https://example.com/a)')).toEqual([
      { t: 'link', href: 'https://example.com/a', c: [{ t: 'text', v: 'docs' }] },
    ]);
    expect(parseInline('see www.example.com/x.')).toEqual([
      { t: 'text', v: 'see ' },
      { t: 'link', href: 'https://www.example.com/x', c: [{ t: 'text', v: 'www.example.com/x' }] },
      { t: 'text', v: '.' },
    ]);
    expect(parseInline('(http://x.org/wiki/A_(b))')[1]).toEqual({
      t: 'link',
      href: 'http://x.org/wiki/A_(b)',
      c: [{ t: 'text', v: 'http://x.org/wiki/A_(b)' }],
    });
  });

  it('refuses javascript:, data: and other schemes', () => {
    for (const href of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'java\tscript:alert(1)', ' javascript:alert(1)', 'data:text/html,<b>', 'vbscript:x', '/relative']) {
      expect(safeHref(href)).toBeNull();
      const nodes = parseInline(`[click](${href})`);
      expect(nodes.some((n) => n.t === 'link')).toBe(false);
    }
    expect(safeHref('mailto:a@b.org')).toBe('mailto:a@b.org');
  });
});

describe('blocks', () => {
  it('parses code fences, quotes and lists', () => {
    expect(parse('intro\n```js\nlet x = 1 < 2;\n**no**\n```\n> quoted *text*\n> more\n- one\n- two\n3. three\n4. four')).toEqual([
      { t: 'p', c: [{ t: 'text', v: 'intro' }] },
      { t: 'pre', v: 'let x = 1 < 2;\n**no**' },
      {
        t: 'quote',
        c: [{ t: 'p', c: [{ t: 'text', v: 'quoted ' }, { t: 'em', c: [{ t: 'text', v: 'text' }] }, { t: 'text', v: '\nmore' }] }],
      },
      { t: 'ul', items: [[{ t: 'text', v: 'one' }], [{ t: 'text', v: 'two' }]] },
      { t: 'ol', start: 3, items: [[{ t: 'text', v: 'three' }], [{ t: 'text', v: 'four' }]] },
    ]);
  });

  it('survives deep nesting without recursing forever', () => {
    const deep = '>'.repeat(5000) + ' x';
    expect(() => parse(deep)).not.toThrow();
    expect(() => parseInline('*'.repeat(5000) + 'x' + '*'.repeat(5000))).not.toThrow();
  });

  it('folds long bodies and flattens a body to one line', () => {
    expect(isLong('short')).toBe(false);
    expect(isLong('line\n'.repeat(20))).toBe(true);
    expect(isLong('x'.repeat(1000))).toBe(true);
    expect(plainLine('**Deploy** at `5pm`\n- a\n- b')).toBe('Deploy at 5pm a, b');
    expect(plainLine('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('MessageText', () => {
  it('never turns markup into HTML elements, whatever the formatting around it', () => {
    const body = '**<img src=x onerror="alert(1)">** `<script>` [x](javascript:alert(1)) <a href="javascript:1">y</a>';
    const { container } = render(<MessageText body={body} />);
    expect(container.querySelector('img, script, iframe')).toBeNull();
    expect(container.querySelectorAll('a')).toHaveLength(0);
    expect(container.querySelector('strong')!.textContent).toBe('<img src=x onerror="alert(1)">');
    expect(container.querySelector('code')!.textContent).toBe('<script>');
  });

  it('highlights my mention more strongly than others', () => {
    const { getAllByTestId } = render(<MessageText body="@Bob and @carol" me="bob" />);
    const [bob, carol] = getAllByTestId('mention');
    expect(bob!.className).toBe('mention mention-me');
    expect(carol!.className).toBe('mention');
  });

  it('folds a long message behind Show more', () => {
    const { getByTestId } = render(<MessageText body={'line\n'.repeat(30)} collapsible />);
    const btn = getByTestId('show-more');
    expect(btn.textContent).toBe('Show more');
    expect(btn.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(btn);
    expect(btn.textContent).toBe('Show less');
    expect(getByTestId('message-fold').className).toContain('open');
  });
});
