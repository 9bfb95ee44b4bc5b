/**
 * Registers the service worker (public/sw.js) that keeps the app shell for
 * a reload while the server is down. Only in a built client served over
 * HTTPS or from localhost (browsers allow service workers nowhere else),
 * and never in the dev server, where the shell changes with every edit.
 */
export function registerShellWorker(): void {
  if (!import.meta.env.PROD) return;
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  if (!globalThis.isSecureContext) return;
  const register = () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      // Without it Townhall works as before; only an offline reload fails.
    });
  };
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
