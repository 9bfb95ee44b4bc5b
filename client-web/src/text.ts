// Message text helpers: mention detection and link splitting. The message body
// is always rendered as text nodes; links become <a> elements built by Preact,
// never through innerHTML.

/**
 * Does `body` mention `username` (`@username`) or the whole room (`@room`)?
 * A mention starts at the beginning or after a character that cannot be part
 * of a name, and the name must end there too: `@bobby` does not mention `bob`.
 */
export function mentions(body: string, username: string): boolean {
  const re = /@([\p{L}\p{N}_.-]+)/gu;
  const me = username.toLowerCase();
  for (const m of body.matchAll(re)) {
    const at = m.index ?? 0;
    const before = at > 0 ? body[at - 1]! : '';
    if (before && /[\p{L}\p{N}_]/u.test(before)) continue; // e-mail address, not a mention
    const name = m[1]!.replace(/[.-]+$/, '').toLowerCase(); // "@bob." ends a sentence
    if (name === me || name === 'room') return true;
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
