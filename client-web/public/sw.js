// Townhall's service worker: keeps the app shell (index.html and the
// hashed scripts and styles) so that a reload while the server is down
// still opens Townhall, which then shows its own "Reconnecting" state and
// the outbox, instead of the browser's error page.
//
// What it never touches: the API (/api/…, including files), the WebSocket
// (/ws), /metrics and /healthz, other origins, and anything but GET. So no
// message, file or token ever lands in its cache: only the public shell,
// the same bytes for every user.
//
// Navigations are network-first (a deployed upgrade is picked up at the
// next load while the server is up); the cached shell is only the fallback.
// Hashed assets (/assets/…) never change, so they are cache-first.

const CACHE = 'townhall-shell-v1';
// The shell is a handful of files; old hashed assets from earlier
// deployments are trimmed beyond this many entries (oldest first).
const MAX_ENTRIES = 48;

function isShellAsset(url) {
  return url.origin === self.location.origin && url.pathname.startsWith('/assets/');
}

// Cache "/" and the assets it names, so the very first visit is enough.
async function precache() {
  const cache = await caches.open(CACHE);
  const res = await fetch('/', { cache: 'no-cache' });
  if (!res.ok) return;
  const html = await res.clone().text();
  await cache.put('/', res);
  const assets = new Set(html.match(/\/assets\/[A-Za-z0-9._-]+/g) ?? []);
  await Promise.all([...assets].map((a) => cache.add(a).catch(() => undefined)));
}

async function trim() {
  const cache = await caches.open(CACHE);
  const keys = await cache.keys();
  const assets = keys.filter((k) => isShellAsset(new URL(k.url)));
  for (const old of assets.slice(0, Math.max(0, assets.length - MAX_ENTRIES))) await cache.delete(old);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().catch(() => undefined).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    const p = url.pathname;
    if (p.startsWith('/api/') || p === '/ws' || p === '/metrics' || p === '/healthz') return;
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok && (res.headers.get('content-type') ?? '').startsWith('text/html')) {
            const copy = res.clone();
            event.waitUntil(caches.open(CACHE).then((c) => c.put('/', copy)));
            return res;
          }
          // Behind a proxy, a stopped Townhall is the proxy's 502/503/504
          // page, not a network error: that is "down" too.
          if (res.status >= 500) return (await caches.match('/')) ?? res;
          return res;
        })
        .catch(async () => (await caches.match('/')) ?? Response.error()),
    );
    return;
  }
  if (isShellAsset(url)) {
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ??
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              event.waitUntil(
                caches
                  .open(CACHE)
                  .then((c) => c.put(req, copy))
                  .then(trim),
              );
            }
            return res;
          }),
      ),
    );
  }
});
