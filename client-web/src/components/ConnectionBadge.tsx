import type { ConnState } from '../connection';

const LABEL: Record<ConnState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

export function ConnectionBadge({ state }: { state: ConnState }) {
  return (
    <span class={`conn conn-${state}`} role="status" aria-live="polite" data-state={state}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-label">{LABEL[state]}</span>
    </span>
  );
}
