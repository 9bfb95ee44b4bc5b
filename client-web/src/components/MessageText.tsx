import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { isLong, parse, type Block, type Inline } from '../markdown';

interface Props {
  body: string;
  /** My username: `@me` and `@room` are highlighted more strongly. */
  me?: string | undefined;
  /** Fold a long body behind "Show more" (timelines; not where it is the focus). */
  collapsible?: boolean;
}

/**
 * A message body rendered from the safe Markdown subset (src/markdown.ts):
 * Preact elements and text nodes only, never HTML strings.
 */
export function MessageText({ body, me, collapsible }: Props) {
  const [open, setOpen] = useState(false);
  const blocks = parse(body);
  const content = <>{blocks.map((b, i) => renderBlock(b, i, me))}</>;
  if (!collapsible || !isLong(body)) return content;
  return (
    <>
      <div class={`md-fold${open ? ' open' : ''}`} data-testid="message-fold">
        {content}
      </div>
      <button
        type="button"
        class="btn link small show-more"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        data-testid="show-more"
      >
        {open ? 'Show less' : 'Show more'}
      </button>
    </>
  );
}

function renderBlock(b: Block, key: number, me: string | undefined): ComponentChildren {
  switch (b.t) {
    case 'p':
      return (
        <p key={key} class="md-p">
          {renderInline(b.c, me)}
        </p>
      );
    case 'pre':
      return (
        <pre key={key} class="md-pre">
          <code>{b.v}</code>
        </pre>
      );
    case 'quote':
      return (
        <blockquote key={key} class="md-quote">
          {b.c.map((x, i) => renderBlock(x, i, me))}
        </blockquote>
      );
    case 'ul':
      return (
        <ul key={key} class="md-list">
          {b.items.map((it, i) => (
            <li key={i}>{renderInline(it, me)}</li>
          ))}
        </ul>
      );
    case 'ol':
      return (
        <ol key={key} class="md-list" start={b.start}>
          {b.items.map((it, i) => (
            <li key={i}>{renderInline(it, me)}</li>
          ))}
        </ol>
      );
  }
}

function renderInline(xs: Inline[], me: string | undefined): ComponentChildren {
  return xs.map((x, i) => {
    switch (x.t) {
      case 'text':
        return x.v;
      case 'code':
        return (
          <code key={i} class="md-code">
            {x.v}
          </code>
        );
      case 'strong':
        return <strong key={i}>{renderInline(x.c, me)}</strong>;
      case 'em':
        return <em key={i}>{renderInline(x.c, me)}</em>;
      case 'del':
        return <del key={i}>{renderInline(x.c, me)}</del>;
      case 'link':
        return (
          <a
            key={i}
            href={x.href}
            target={x.href.startsWith('#') ? undefined : '_blank'}
            rel={x.href.startsWith('#') ? undefined : 'noopener noreferrer'}
          >
            <bdi>{renderInline(x.c, me)}</bdi>
          </a>
        );
      case 'mention': {
        const lower = x.name.toLowerCase();
        const mine = lower === 'room' || (me !== undefined && lower === me.toLowerCase());
        return (
          <span key={i} class={`mention${mine ? ' mention-me' : ''}`} data-testid="mention">
            @{x.name}
          </span>
        );
      }
    }
  });
}
