import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_BODY_BYTES } from '../protocol';
import type { ChatStore } from '../store';
import { utf8Length } from '../text';
import { SendIcon } from './Icons';
import { useMentionPicker } from './MentionPicker';
import { AnonymousToggle } from './Anonymous';
import { AttachButton, filesOf, PendingUploads, useFileDrop, useUploads } from './Attachments';

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
  const [anonymous, setAnonymous] = useState(false);
  const [anonNote, setAnonNote] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  const tooLong = utf8Length(text) > MAX_BODY_BYTES;
  const conn = store.connState.value;
  const mention = useMentionPicker(store, roomId, ref, (v) => {
    setText(v);
    drafts.set(roomId, v);
  });
  const uploads = useUploads(store.token);
  const drop = useFileDrop(uploads);
  const files = uploads.ready;

  useEffect(() => {
    setText(drafts.get(roomId) ?? '');
    setQuestion(false);
    // Opening a room puts the focus here, unless a link pointed at a message
    // (that message has it) or the screen is touch (it would pop up the keyboard).
    if (store.view.value?.focusSeq === undefined && !globalThis.matchMedia?.('(pointer: coarse)').matches) {
      ref.current?.focus({ preventScroll: true });
    }
    setAnonymous(false);
    setAnonNote('');
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
    if (question && anonymous && files.length === 0) {
      // Not a message: it waits for moderation, and nobody sees who asked.
      store.anon.ask(roomId, body).then(
        () => setAnonNote('Your anonymous question is waiting for moderation (see Anonymous questions).'),
        (e: unknown) => setAnonNote(`Not sent: ${e instanceof Error ? e.message : String(e)}`),
      );
    } else if (question && anonymous) {
      setAnonNote('Anonymous questions cannot carry files: remove them, or ask under your name.');
      return;
    } else {
      store.sendMessage(roomId, body, { ...(question ? { question: true } : {}), ...(files.length ? { attachments: files } : {}) });
    }
    drafts.delete(roomId);
    setText('');
    setQuestion(false);
    setAnonymous(false);
    uploads.clear();
    onSent();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (mention.onKeyDown(e)) return;
    // Enter sends; Shift+Enter is a new line; an IME composition's Enter is not ours.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  return (
    <form
      class={`composer${drop.dragging ? ' dragging' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      {...drop.handlers}
    >
      <PendingUploads uploads={uploads} />
      {conn !== 'connected' && (
        <p class="composer-note" role="status">
          Not connected — messages you write now are sent when the connection returns.
        </p>
      )}
      {anonNote && (
        <p class="composer-note" role="status" data-testid="anon-note">
          {anonNote}
        </p>
      )}
      {tooLong && (
        <p class="composer-note error" role="alert">
          This message is too long to send. Shorten it or split it into several messages.
        </p>
      )}
      <div class="composer-row">
        {mention.popup}
        <AttachButton onFiles={uploads.add} />
        <textarea
          {...mention.inputProps}
          ref={ref}
          rows={1}
          value={text}
          aria-label={label}
          placeholder={`${label}`}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            drafts.set(roomId, v);
            mention.update();
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
        {question && (
          <AnonymousToggle store={store} roomId={roomId} checked={anonymous} onChange={setAnonymous} />
        )}
        <p class="composer-hint muted small" aria-hidden="true">
          Enter to send · Shift+Enter for a new line
        </p>
      </div>
    </form>
  );
}
