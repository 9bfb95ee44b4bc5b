// Views few people open (administration, the account page) load on first
// use, as their own chunk, so everyone's first visit downloads less.

import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** A view loaded once, on first render; shared by every later render. */
export function lazyView<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function LazyView(props: P) {
    const [View, setView] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (View) return;
      let live = true;
      pending ??= load().then((c) => (loaded = c));
      pending.then(
        (c) => live && setView(() => c),
        () => {
          // A deploy replaced the chunk, or the network is down: try again next time.
          pending = null;
          if (live) setFailed(true);
        },
      );
      return () => {
        live = false;
      };
    }, [View]);
    if (View) return <View {...props} />;
    return (
      <p class="muted pad" role="status">
        {failed ? 'This page could not be loaded. Check your connection and reload.' : 'Loading…'}
      </p>
    );
  };
}
