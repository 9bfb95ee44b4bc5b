// A person's avatar: their picture when they set one, else their initials
// on their colour (avatar.ts). Always aria-hidden: the name is beside it,
// so the image's alt is empty and screen readers hear the name once.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { avatarStyle, avatarUrl, avatarVersion } from '../avatar';
import { initials } from '../text';

export function Avatar({
  user,
  name,
  size,
  children,
}: {
  user: { id: string; avatar?: number };
  name: string;
  size?: 'small' | 'large';
  /** Overlays (the presence dot). */
  children?: ComponentChildren;
}) {
  const version = avatarVersion(user);
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    setUrl(null);
    if (version === null) return;
    let live = true;
    avatarUrl(user.id, version).then(
      (u) => live && setUrl(u),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [user.id, version]);
  return (
    <span
      class={`avatar${size ? ` ${size}` : ''}${url ? ' pictured' : ''}`}
      aria-hidden="true"
      style={avatarStyle(user.id)}
      data-testid={url ? 'avatar-picture' : undefined}
    >
      {url ? <img src={url} alt="" /> : initials(name)}
      {children}
    </span>
  );
}
