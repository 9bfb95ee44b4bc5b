/**
 * The tab's icon carries the unread count, so a pinned tab (which shows no
 * title) still says "something new". Drawn as SVG in a data: URL: no image
 * files, no canvas, and the CSP's `img-src data:` already allows it.
 */

const BASE =
  "<rect width='32' height='32' rx='7' fill='%232f5bd3'/>" +
  "<text x='16' y='22' font-family='system-ui,sans-serif' font-size='18' font-weight='700' fill='white' text-anchor='middle'>T</text>";

/** What the badge says: nothing at 0, the number up to 99, then "99+". */
export function badgeText(count: number): string {
  if (!Number.isFinite(count) || count <= 0) return '';
  return count > 99 ? '99+' : String(Math.floor(count));
}

/** The icon's data: URL for `count` unread messages. */
export function faviconHref(count: number): string {
  const text = badgeText(count);
  let badge = '';
  if (text) {
    // A red pill in the top right corner, wide enough for its digits.
    const w = text.length === 1 ? 16 : text.length === 2 ? 22 : 28;
    const size = text.length === 3 ? 11 : 13;
    badge =
      `<rect x='${32 - w}' y='0' width='${w}' height='16' rx='8' fill='%23d32f2f' stroke='white' stroke-width='1.5'/>` +
      `<text x='${32 - w / 2}' y='12.5' font-family='system-ui,sans-serif' font-size='${size}' font-weight='700' fill='white' text-anchor='middle'>${text.replace('+', '%2B')}</text>`;
  }
  return `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E${BASE.replace(/</g, '%3C').replace(/>/g, '%3E')}${badge.replace(/</g, '%3C').replace(/>/g, '%3E')}%3C/svg%3E`;
}

/** Point the page's icon at the one for `count` (a no-op without a DOM). */
export function showFaviconCount(count: number): void {
  if (typeof document === 'undefined') return;
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.appendChild(link);
  }
  link.href = faviconHref(count);
  link.dataset.count = badgeText(count) || '0';
}
