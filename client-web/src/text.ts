// Message text helpers: mention detection and link splitting. The message body
// is always rendered as text nodes; links become <a> elements built by Preact,
// never through innerHTML.

/**
 * Does `body` mention `username` (`@username`) or the whole room (`@room`)?
 * The same rule as the server's unread-mention count (handlers/markers.rs
 * `mentions_name`), so the badge and the highlight agree: case-insensitive,
 * and the name must end there (`@bobby` does not mention `bob`).
 */
export function mentions(body: string, username: string): boolean {
  const lower = body.toLowerCase();
  return mentionsName(lower, `@${username.toLowerCase()}`) || mentionsName(lower, '@room');
}

function mentionsName(lowerBody: string, mention: string): boolean {
  for (let i = lowerBody.indexOf(mention); i >= 0; i = lowerBody.indexOf(mention, i + 1)) {
    const after = lowerBody.slice(i + mention.length).codePointAt(0);
    if (after === undefined || !/[\p{L}\p{N}_-]/u.test(String.fromCodePoint(after))) return true;
  }
  return false;
}

export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/** Split text into plain runs and http(s) links. */
export function linkify(text: string): Segment[] {
  const out: Segment[] = [];
  const re = /\bhttps?:\/\/[^\s<>"']+/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let url = m[0];
    // Trailing punctuation usually ends the sentence, not the URL; a closing
    // parenthesis stays when it balances one inside the URL (Wikipedia links).
    while (url.length > 0) {
      const c = url[url.length - 1]!;
      if ('.,;:!?]}\''.includes(c)) url = url.slice(0, -1);
      else if (c === ')' && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
      else break;
    }
    const start = m.index ?? 0;
    if (!isHttpUrl(url)) continue;
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) });
    out.push({ kind: 'link', text: url, href: url });
    last = start + url.length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** UTF-8 length, to check a body against the server's limit before sending. */
export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const a = [...parts[0]!][0] ?? '';
  const b = parts.length > 1 ? ([...parts[parts.length - 1]!][0] ?? '') : '';
  return (a + b).toUpperCase();
}

/** "1 member", "2 members": a count with its noun, singular or plural. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
