// File attachments over HTTP: upload with progress and cancel (XHR: fetch
// has no upload progress), and reading a posted file with the session
// token (an <img src> cannot carry an Authorization header, so images are
// fetched and shown from blob: URLs, cached per file for the session).

import type { Attachment } from './protocol';

export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface UploadHandle {
  /** Resolves with the uploaded file, or rejects with an UploadError. */
  done: Promise<Attachment>;
  cancel: () => void;
}

function uploadMessage(code: string, fallback: string): string {
  switch (code) {
    case 'body_too_large':
      return 'This file is too large to upload.';
    case 'limit_reached':
      return fallback || 'This file cannot be uploaded (a limit is reached).';
    case 'rate_limited':
      return 'Too many uploads at once. Try again in a moment.';
    case 'not_supported':
      return 'This server does not accept files.';
    case 'cancelled':
      return 'Upload cancelled.';
    default:
      return fallback || 'The upload failed. Try again.';
  }
}

/** Upload one file; `onProgress` gets 0..1 as the bytes leave. */
export function uploadFile(token: string, file: File | Blob, name: string, onProgress: (f: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.open('POST', `/api/files?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: { code?: string; message?: string } & Partial<Attachment> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // a proxy's error page
      }
      if (xhr.status === 201 && body.id) {
        onProgress(1);
        resolve(body as Attachment);
      } else {
        const code = body.code ?? `http_${xhr.status}`;
        reject(new UploadError(code, uploadMessage(code, body.message ?? '')));
      }
    };
    xhr.onerror = () => reject(new UploadError('network', 'Cannot reach the server. Try again.'));
    xhr.onabort = () => reject(new UploadError('cancelled', uploadMessage('cancelled', '')));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}

// Cached per file for the session: cleared (and each URL revoked) by
// `clearFileUrls` when the session ends, so a next user on this page
// neither sees nor keeps the last one's files in memory.
const blobs = new Map<string, Promise<string>>();

/** The session ended: forget every cached file and free its blob. */
export function clearFileUrls(): void {
  for (const url of blobs.values()) {
    // One still being fetched is revoked once it arrives.
    url.then((u) => URL.revokeObjectURL(u)).catch(() => {});
  }
  blobs.clear();
}

/** A blob: URL of a posted file (or its thumbnail), fetched once. */
export function fileUrl(token: string, id: string, thumb = false): Promise<string> {
  const key = `${id}${thumb ? '/thumb' : ''}`;
  let url = blobs.get(key);
  if (!url) {
    url = fetch(`/api/files/${key}`, { headers: { Authorization: `Bearer ${token}` } }).then(async (res) => {
      if (!res.ok) throw new UploadError(`http_${res.status}`, 'This file is not available.');
      return URL.createObjectURL(await res.blob());
    });
    // A failure is not cached: the next render tries again.
    url.catch(() => blobs.delete(key));
    blobs.set(key, url);
  }
  return url;
}

/** Save a posted file under its name. */
export async function download(token: string, a: Attachment): Promise<void> {
  const url = await fileUrl(token, a.id);
  const link = document.createElement('a');
  link.href = url;
  link.download = a.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/** "1.2 MB", "340 KB", "12 bytes". */
export function formatSize(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  if (n < 1_000_000) return `${Math.round(n / 1000)} KB`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(1)} MB`;
  return `${(n / 1_000_000_000).toFixed(1)} GB`;
}

/** A name for a pasted image that has none. */
export function pastedName(type: string): string {
  const ext = type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'bin';
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return `pasted-${stamp}.${ext}`;
}
