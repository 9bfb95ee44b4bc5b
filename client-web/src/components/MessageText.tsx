import { linkify } from '../text';

/** A message body as text nodes and safe links; never HTML. */
export function MessageText({ body }: { body: string }) {
  return (
    <>
      {linkify(body).map((s, i) =>
        s.kind === 'link' ? (
          <a key={i} href={s.href} target="_blank" rel="noopener noreferrer">
            <bdi>{s.text}</bdi>
          </a>
        ) : (
          s.text
        ),
      )}
    </>
  );
}
