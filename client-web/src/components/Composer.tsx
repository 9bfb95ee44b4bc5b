import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_BODY_BYTES } from '../protocol';
import type { ChatStore } from '../store';
import { utf8Length } from '../text';
import { SendIcon } from './Icons';
import { AttachButton, filesOf, PendingUploads, useUploads } from './Attachments';

interface Props {
  store: ChatStore;
  roomId: string;
  label: string;
  onSent: () => void;
}

/** Drafts survive switching rooms (not reloads: the outbox covers sent text). */
const drafts = new Map<string, string>();

export function Composer({ store, roomId, label, onSent }: Props) {
  const [text, setText] = useState(drafts.get(roomId) ?? '');
  const [question, setQuestion] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const tooLong = utf8Length(text) > MAX_BODY_BYTES;
  const conn = store.connState.value;
  const uploads = useUploads(store.token);
  const [dragging, setDragging] = useState(false);
  const files = uploads.ready;

  useEffect(() => {
    setText(drafts.get(roomId) ?? '');
    setQuestion(false);
    uploads.clear();
  }, [roomId]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  const submit = () => {
    const body = text.trim();
    if ((!body && files.length === 0) || tooLong || uploads.busy) return;
    store.sendMessage(roomId, body, { ...(question ? { question: true } : {}), ...(files.length ? { attachments: files } : {}) });
    drafts.delete(roomId);
    setText('');
    setQuestion(false);
    uploads.clear();
    onSent();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // Enter sends; Shift+Enter is a new line; an IME composition's Enter is not ours.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  return (
    <form
      class={`composer${dragging ? ' dragging' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        const dropped = filesOf(e.dataTransfer);
        if (dropped.length === 0) return;
        e.preventDefault();
        uploads.add(dropped);
      }}
    >
      <PendingUploads uploads={uploads} />
      {conn !== 'connected' && (
        <p class="composer-note" role="status">
          Not connected — messages you write now are sent when the connection returns.
        </p>
      )}
      {tooLong && (
        <p class="composer-note error" role="alert">
          This message is too long to send. Shorten it or split it into several messages.
        </p>
      )}
      <div class="composer-row">
        <AttachButton onFiles={uploads.add} />
        <textarea
          ref={ref}
          rows={1}
          value={text}
          aria-label={label}
          placeholder={`${label}`}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            drafts.set(roomId, v);
            if (v.trim()) store.notifyTyping(roomId);
          }}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const pasted = filesOf(e.clipboardData);
            if (pasted.length === 0) return;
            e.preventDefault();
            uploads.add(pasted);
          }}
          data-testid="composer"
        />
        <button type="submit" class="btn primary send" aria-label={question ? 'Send question' : 'Send message'} disabled={(!text.trim() && files.length === 0) || tooLong || uploads.busy}>
          <SendIcon />
        </button>
      </div>
      <div class="composer-foot">
        <label class="question-toggle">
          <input
            type="checkbox"
            checked={question}
            onChange={(e) => setQuestion(e.currentTarget.checked)}
            data-testid="ask-question"
          />
          Ask as a question
        </label>
        <p class="composer-hint muted small" aria-hidden="true">
          Enter to send · Shift+Enter for a new line
        </p>
      </div>
    </form>
  );
}
