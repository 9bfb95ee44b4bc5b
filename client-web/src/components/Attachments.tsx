// File attachments in the UI: the files of a message (thumbnails that open
// full size, cards for other files), and the composer's uploads (button,
// drag-and-drop, paste; a progress bar and cancel for each).

import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_ATTACHMENTS, type Attachment } from '../protocol';
import { download, fileUrl, formatSize, pastedName, uploadFile, UploadError, type UploadHandle } from '../upload';
import { Modal } from './Modal';
import './attachments.css';

const svg = { width: 24, height: 24, viewBox: '0 0 24 24', 'aria-hidden': true, focusable: 'false' } as const;

/** The icon of a file card, from its (server-sniffed) type: a page with a label. */
function TypeIcon({ type }: { type: string }) {
  const label = type.startsWith('image/')
    ? 'IMG'
    : type.startsWith('video/')
      ? 'VID'
      : type.startsWith('audio/')
        ? 'AUD'
        : type === 'application/pdf'
          ? 'PDF'
          : /zip|gzip|7z/.test(type)
            ? 'ZIP'
            : type.startsWith('text/')
              ? 'TXT'
              : 'FILE';
  return (
    <svg {...svg} class="att-type" data-type={label}>
      <path d="M6 2.5h8l4.5 4.5v14.5H6z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
      <path d="M14 2.5V7h4.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
      <text x="12.25" y="17" text-anchor="middle" font-size={label.length > 3 ? 4.5 : 5.5} font-weight="700" fill="currentColor">
        {label}
      </text>
    </svg>
  );
}

const PaperclipIcon = () => (
  <svg {...svg} width={18} height={18} fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">
    <path d="M20 11.5 12 19.5a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L9.7 17.2a1.7 1.7 0 0 1-2.4-2.4L15 7" />
  </svg>
);

function useBlobUrl(token: string, id: string, thumb: boolean): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fileUrl(token, id, thumb).then(
      (u) => live && setUrl(u),
      () => live && setUrl(null),
    );
    return () => {
      live = false;
    };
  }, [token, id, thumb]);
  return url;
}

function Thumbnail({ token, a, onOpen }: { token: string; a: Attachment; onOpen: () => void }) {
  const url = useBlobUrl(token, a.id, true);
  // Reserve the thumbnail's box (320 px at most) so the timeline does not jump.
  const scale = a.width && a.height ? Math.min(1, 320 / Math.max(a.width, a.height)) : 1;
  const w = a.width ? Math.round(a.width * scale) : 160;
  const h = a.height ? Math.round(a.height * scale) : 120;
  return (
    <button type="button" class="att-thumb" onClick={onOpen} aria-label={`Open ${a.name}`} data-testid="attachment-thumb">
      {url ? <img src={url} alt={a.name} width={w} height={h} /> : <span class="att-thumb-wait" style={{ width: `${w}px`, height: `${h}px` }} />}
    </button>
  );
}

function FullImage({ token, a, onClose }: { token: string; a: Attachment; onClose: () => void }) {
  const url = useBlobUrl(token, a.id, false);
  return (
    <Modal title={a.name} onClose={onClose}>
      <div class="att-full">
        {url ? <img src={url} alt={a.name} data-testid="attachment-full" /> : <p class="muted">Loading…</p>}
      </div>
      <div class="att-full-actions">
        <button type="button" class="btn" onClick={() => void download(token, a)}>
          Download ({formatSize(a.size)})
        </button>
        <button type="button" class="btn primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function FileCard({ token, a }: { token: string; a: Attachment }) {
  const [failed, setFailed] = useState(false);
  return (
    <div class="att-card" data-testid="attachment-card">
      <span class="att-icon">
        <TypeIcon type={a.content_type} />
      </span>
      <span class="att-meta">
        <span class="att-name">{a.name}</span>
        <span class="muted small">
          {formatSize(a.size)} · {a.content_type}
        </span>
      </span>
      <button
        type="button"
        class="btn small"
        data-testid="attachment-download"
        aria-label={`Download ${a.name}`}
        onClick={() => download(token, a).catch(() => setFailed(true))}
      >
        {failed ? 'Unavailable' : 'Download'}
      </button>
    </div>
  );
}

/** The files of one message. */
export function AttachmentList({ token, attachments }: { token: string; attachments: readonly Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null);
  return (
    <div class="attachments" data-testid="attachments">
      {attachments.map((a) =>
        a.thumbnail ? (
          <Thumbnail key={a.id} token={token} a={a} onOpen={() => setOpen(a)} />
        ) : (
          <FileCard key={a.id} token={token} a={a} />
        ),
      )}
      {open && <FullImage token={token} a={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

// ------------------------------------------------------------- uploading

export interface PendingUpload {
  key: number;
  name: string;
  size: number;
  progress: number;
  status: 'uploading' | 'done' | 'failed';
  attachment?: Attachment;
  error?: string;
}

export interface Uploads {
  items: readonly PendingUpload[];
  /** Some file is still on its way. */
  busy: boolean;
  /** Ids of the files uploaded, in order. */
  ready: string[];
  add: (files: readonly File[]) => void;
  cancel: (key: number) => void;
  clear: () => void;
}

let nextKey = 1;

/** The composer's uploads: each starts at once and can be cancelled. */
export function useUploads(token: string): Uploads {
  const [items, setItems] = useState<readonly PendingUpload[]>([]);
  const handles = useRef(new Map<number, UploadHandle>());
  const update = (key: number, change: Partial<PendingUpload>) =>
    setItems((list) => list.map((i) => (i.key === key ? { ...i, ...change } : i)));
  useEffect(() => () => handles.current.forEach((h) => h.cancel()), []);

  const add = (files: readonly File[]) => {
    const room = MAX_ATTACHMENTS - items.filter((i) => i.status !== 'failed').length;
    for (const file of files.slice(0, Math.max(0, room))) {
      const key = nextKey++;
      const name = file.name || pastedName(file.type);
      const handle = uploadFile(token, file, name, (progress) => update(key, { progress }));
      handles.current.set(key, handle);
      setItems((list) => [...list, { key, name, size: file.size, progress: 0, status: 'uploading' }]);
      handle.done.then(
        (attachment) => update(key, { status: 'done', attachment, progress: 1 }),
        (e: unknown) => {
          if (e instanceof UploadError && e.code === 'cancelled') {
            setItems((list) => list.filter((i) => i.key !== key));
          } else {
            update(key, { status: 'failed', error: e instanceof Error ? e.message : 'The upload failed.' });
          }
        },
      );
    }
  };
  const cancel = (key: number) => {
    const h = handles.current.get(key);
    handles.current.delete(key);
    h?.cancel();
    setItems((list) => list.filter((i) => i.key !== key));
  };
  const clear = () => {
    handles.current.forEach((h) => h.cancel());
    handles.current.clear();
    setItems([]);
  };
  return {
    items,
    busy: items.some((i) => i.status === 'uploading'),
    ready: items.filter((i) => i.status === 'done' && i.attachment).map((i) => i.attachment!.id),
    add,
    cancel,
    clear,
  };
}

/** Files from a paste or a drop (none: let the browser handle it). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  return Array.from(data.files ?? []);
}

export function PendingUploads({ uploads }: { uploads: Uploads }) {
  if (uploads.items.length === 0) return null;
  return (
    <ul class="att-pending" aria-label="Files to send">
      {uploads.items.map((u) => (
        <li key={u.key} class={`att-pending-item ${u.status}`} data-testid="pending-upload">
          <span class="att-name">{u.name}</span>
          <span class="muted small">{formatSize(u.size)}</span>
          {u.status === 'uploading' && (
            <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} data-testid="upload-progress" />
          )}
          {u.status === 'done' && <span class="small ok" data-testid="upload-done">Ready</span>}
          {u.status === 'failed' && (
            <span class="small error" role="alert">
              {u.error}
            </span>
          )}
          <button
            type="button"
            class="btn small"
            onClick={() => uploads.cancel(u.key)}
            aria-label={u.status === 'uploading' ? `Cancel upload of ${u.name}` : `Remove ${u.name}`}
          >
            {u.status === 'uploading' ? 'Cancel' : 'Remove'}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The paper-clip button and its hidden file input. */
export function AttachButton({ onFiles }: { onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          onFiles(Array.from(e.currentTarget.files ?? []));
          e.currentTarget.value = '';
        }}
      />
      <button type="button" class="btn attach" aria-label="Attach files" onClick={() => input.current?.click()} data-testid="attach">
        <PaperclipIcon />
      </button>
    </>
  );
}

/** Drag-and-drop of files onto a composer form: `dragging` for its style,
 * and the form's handlers (anything but files is left to the browser). */
export function useFileDrop(uploads: Uploads) {
  const [dragging, setDragging] = useState(false);
  return {
    dragging,
    handlers: {
      onDragOver: (e: DragEvent) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      },
      onDragLeave: () => setDragging(false),
      onDrop: (e: DragEvent) => {
        setDragging(false);
        const dropped = filesOf(e.dataTransfer);
        if (dropped.length === 0) return;
        e.preventDefault();
        uploads.add(dropped);
      },
    },
  };
}
