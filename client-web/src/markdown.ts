// A small, safe Markdown subset for chat messages, parsed into a tree of plain
// objects (pure, unit-tested) and rendered by components/MessageText.tsx into
// Preact nodes. Nothing here ever produces an HTML string: a `<b>` or an
// `<img onerror=…>` in a message stays the literal text it is, because every
// leaf is a text node. Links are made only for http(s) and mailto addresses.
//
// Supported: **bold** / __bold__, *italic* / _italic_, ~~strikethrough~~,
// `inline code`, ``` fenced code blocks ```, "> " quotes, "- " / "* " / "1. "
// lists, [text](https://…) links, bare http(s):// and www. links, @mentions.
// Everything else (headings, tables, images, raw HTML) is left as text: a
// chat message is not a document.

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'strong' | 'em' | 'del'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] }
  | { t: 'mention'; name: string };

export type Block =
  | { t: 'p'; c: Inline[] }
  | { t: 'pre'; v: string }
  | { t: 'quote'; c: Block[] }
  | { t: 'ul'; items: Inline[][] }
  | { t: 'ol'; start: number; items: Inline[][] };

/** Nesting deeper than this (quotes in quotes, bold in italic in …) is shown as text. */
const MAX_DEPTH = 6;

const FENCE = /^\s*```/;
const QUOTE = /^\s{0,3}> ?/;
const BULLET = /^\s{0,3}[-*+] +(?=\S)/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)] +(?=\S)/;

/** Parse a message body into blocks. */
export function parse(body: string, depth = 0): Block[] {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push({ t: 'p', c: parseInline(para.join('\n'), depth) });
    para = [];
  };
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (FENCE.test(line)) {
      flush();
      const code: string[] = [];
      // Text after the opening fence (a language name) is dropped, not shown.
      let j = i + 1;
      while (j < lines.length && !FENCE.test(lines[j]!)) code.push(lines[j++]!);
      out.push({ t: 'pre', v: code.join('\n') });
      i = j + 1; // past the closing fence (or the end: an unclosed fence runs to the end)
      continue;
    }
    if (depth < MAX_DEPTH && QUOTE.test(line)) {
      flush();
      const inner: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) inner.push(lines[i++]!.replace(QUOTE, ''));
      out.push({ t: 'quote', c: parse(inner.join('\n'), depth + 1) });
      continue;
    }
    if (BULLET.test(line)) {
      flush();
      const items: Inline[][] = [];
      while (i < lines.length && BULLET.test(lines[i]!)) items.push(parseInline(lines[i++]!.replace(BULLET, ''), depth));
      out.push({ t: 'ul', items });
      continue;
    }
    const om = ORDERED.exec(line);
    if (om) {
      flush();
      const items: Inline[][] = [];
      while (i < lines.length && ORDERED.test(lines[i]!)) items.push(parseInline(lines[i++]!.replace(ORDERED, ''), depth));
      out.push({ t: 'ol', start: Number(om[1]), items });
      continue;
    }
    para.push(line);
    i++;
  }
  flush();
  // Blank lines between blocks are spacing, not content.
  return out.filter((b) => !(b.t === 'p' && b.c.every((x) => x.t === 'text' && !x.v.trim())));
}

const NAME_CHAR = /[\p{L}\p{N}_-]/u;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const MENTION = /@([\p{L}\p{N}_-]+)/uy;
const BARE_LINK = /(?:https?:\/\/|www\.)[^\s<>"'`]+/iy;

/** Parse inline formatting in one run of text. */
export function parseInline(s: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const push = (node: Inline) => {
    if (text) out.push({ t: 'text', v: text });
    text = '';
    out.push(node);
  };
  const nest = depth < MAX_DEPTH;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const prev = i > 0 ? s[i - 1]! : '';
    if (c === '`') {
      // A run of n backticks closes at the next run of exactly n.
      let n = 1;
      while (s[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      const end = findRun(s, fence, i + n);
      if (end > i + n) {
        push({ t: 'code', v: trimCode(s.slice(i + n, end)) });
        i = end + n;
        continue;
      }
      text += fence;
      i += n;
      continue;
    }
    if (nest && (c === '*' || c === '_' || c === '~') && s[i + 1] === c && s[i + 2] !== c) {
      const end = closer(s, c + c, i + 2);
      if (end > 0 && (c !== '_' || wordEdge(s, i, end + 2))) {
        push({ t: c === '~' ? 'del' : 'strong', c: parseInline(s.slice(i + 2, end), depth + 1) });
        i = end + 2;
        continue;
      }
    }
    if (nest && (c === '*' || c === '_') && s[i + 1] !== c) {
      const end = closer(s, c, i + 1);
      if (end > 0 && (c !== '_' || wordEdge(s, i, end + 1))) {
        push({ t: 'em', c: parseInline(s.slice(i + 1, end), depth + 1) });
        i = end + 1;
        continue;
      }
    }
    if (c === '[' && nest) {
      const link = labelledLink(s, i);
      if (link) {
        push({ t: 'link', href: link.href, c: parseInline(link.label, depth + 1) });
        i = link.end;
        continue;
      }
    }
    if ((c === 'h' || c === 'H' || c === 'w' || c === 'W') && !WORD_CHAR.test(prev)) {
      const link = bareLink(s, i);
      if (link) {
        push({ t: 'link', href: link.href, c: [{ t: 'text', v: link.text }] });
        i += link.text.length;
        continue;
      }
    }
    if (c === '@' && !NAME_CHAR.test(prev) && prev !== '.') {
      MENTION.lastIndex = i;
      const m = MENTION.exec(s);
      if (m) {
        push({ t: 'mention', name: m[1]! });
        i += m[0].length;
        continue;
      }
    }
    text += c;
    i++;
  }
  if (text) out.push({ t: 'text', v: text });
  return out;
}

/** `` `a` `` → `a`; one space either side is padding (to quote a backtick). */
function trimCode(v: string): string {
  return v.length > 2 && v.startsWith(' ') && v.endsWith(' ') ? v.slice(1, -1) : v;
}

function findRun(s: string, fence: string, from: number): number {
  for (let j = s.indexOf(fence, from); j >= 0; j = s.indexOf(fence, j + 1)) {
    if (s[j - 1] !== '`' && s[j + fence.length] !== '`') return j;
  }
  return -1;
}

/**
 * Where the emphasis opened at `from - delim.length` closes: the opener must be
 * followed by a non-space, the closer preceded by one, and not be part of a
 * longer run (`**` does not close `*`). -1 when it does not close.
 */
function closer(s: string, delim: string, from: number): number {
  const first = s[from];
  if (first === undefined || /\s/.test(first)) return -1;
  const ch = delim[0]!;
  for (let j = s.indexOf(delim, from + 1); j >= 0; j = s.indexOf(delim, j + 1)) {
    if (j === from) continue;
    if (/\s/.test(s[j - 1]!)) continue;
    if (s[j + delim.length] === ch) {
      // `***`-style runs: let the longer delimiter close on its last chars.
      continue;
    }
    if (delim.length === 1 && s[j - 1] === ch) continue;
    return j;
  }
  return -1;
}

/** Underscores format only at word edges, so snake_case_names stay as they are. */
function wordEdge(s: string, open: number, afterClose: number): boolean {
  const before = open > 0 ? s[open - 1]! : '';
  const after = afterClose < s.length ? s[afterClose]! : '';
  return !WORD_CHAR.test(before) && !WORD_CHAR.test(after);
}

/** `[label](url)` starting at `i`, if the url is one we link to. */
function labelledLink(s: string, i: number): { label: string; href: string; end: number } | null {
  const close = s.indexOf('](', i + 1);
  if (close < 0) return null;
  const label = s.slice(i + 1, close);
  if (!label || label.includes('\n') || label.includes('[')) return null;
  const end = s.indexOf(')', close + 2);
  if (end < 0) return null;
  const raw = s.slice(close + 2, end).trim();
  const href = safeHref(raw);
  return href ? { label, href, end: end + 1 } : null;
}

function bareLink(s: string, i: number): { text: string; href: string } | null {
  BARE_LINK.lastIndex = i;
  const m = BARE_LINK.exec(s);
  if (!m) return null;
  let url = m[0];
  // Trailing punctuation usually ends the sentence, not the URL; a closing
  // parenthesis stays when it balances one inside the URL (Wikipedia links).
  while (url.length > 0) {
    const c = url[url.length - 1]!;
    if ('.,;:!?]}\'*_~'.includes(c)) url = url.slice(0, -1);
    else if (c === ')' && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    else break;
  }
  if (/^www\.$/i.test(url) || !/^(?:https?:\/\/|www\.)[^.]*[\p{L}\p{N}]/iu.test(url)) return null;
  const href = safeHref(/^www\./i.test(url) ? `https://${url}` : url);
  return href ? { text: url, href } : null;
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/**
 * The address a link may point to: http(s) and mailto only, as the URL parser
 * reads it (so `java\tscript:`, `JAVASCRIPT:` and `data:` are all refused).
 */
export function safeHref(raw: string): string | null {
  // The one in-app link a message may carry: an FAQ entry (`faq_answer`).
  if (/^#\/faq\/\d{1,15}$/.test(raw)) return raw;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Long enough to fold behind "Show more" in a timeline. */
export function isLong(body: string): boolean {
  return body.length > 900 || body.split('\n').length > 14;
}

/** The body as one plain line (formatting marks dropped), for a reply's quote of its parent. */
export function plainLine(body: string, max = 100): string {
  const flat = (xs: Inline[]): string =>
    xs.map((x) => (x.t === 'text' || x.t === 'code' ? x.v : x.t === 'mention' ? `@${x.name}` : flat(x.c))).join('');
  const text = parse(body)
    .map((b) =>
      b.t === 'p' ? flat(b.c) : b.t === 'pre' ? b.v : b.t === 'quote' ? '' : b.items.map(flat).join(', '),
    )
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
