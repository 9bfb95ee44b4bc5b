import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearFileUrls, fileUrl, formatSize, pastedName } from '../src/upload';

describe('file helpers', () => {
  it('formats sizes the way a card shows them', () => {
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(29)).toBe('29 bytes');
    expect(formatSize(48_213)).toBe('48 KB');
    expect(formatSize(26_214_400)).toBe('26.2 MB');
  });

  it('names a pasted image by its type and time', () => {
    expect(pastedName('image/png')).toMatch(/^pasted-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.png$/);
    expect(pastedName('image/jpeg')).toMatch(/\.jpg$/);
  });
});

describe('file URL cache', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('is emptied and every blob URL revoked when the session ends', async () => {
    let made = 0;
    const revoked: string[] = [];
    const fetches: string[] = [];
    vi.stubGlobal('fetch', (path: string) => {
      fetches.push(path);
      return Promise.resolve(new Response(new Blob(['x'])));
    });
    vi.stubGlobal('URL', {
      createObjectURL: () => `blob:${++made}`,
      revokeObjectURL: (u: string) => revoked.push(u),
    });
    const a = await fileUrl('t1', 'a');
    const b = await fileUrl('t1', 'b', true);
    expect(await fileUrl('t1', 'a')).toBe(a);
    expect(fetches).toEqual(['/api/files/a', '/api/files/b/thumb']);
    clearFileUrls();
    await new Promise((r) => setTimeout(r, 0));
    expect(revoked.sort()).toEqual([a, b].sort());
    // The next session fetches again, with its own token.
    expect(await fileUrl('t2', 'a')).not.toBe(a);
    expect(fetches).toHaveLength(3);
    clearFileUrls();
  });
});
