// The FAQ in the web client (issue 15): answered questions the
// transformation team published, searchable by words and topic tags. This
// file holds the requests and the pure helpers (tag parsing mirrors the
// server's normalising, so a typo shows before the round trip); the view
// is components/Faq.tsx.

import { signal } from '@preact/signals';
import type { ClientFrame, FaqEntry, FaqTag, RoomId, RoomSeq, ServerFrame } from './protocol';

export const faqHref = '#/faq';

export function faqEntryHref(id: number): string {
  return `#/faq/${id}`;
}

/** Mirrors the server's `MAX_FAQ_TAGS` and `MAX_FAQ_TAG_CHARS`. */
export const MAX_FAQ_TAGS = 8;
export const MAX_FAQ_TAG_CHARS = 32;

/** One tag as the server stores it, or null when it would be refused. */
export function normaliseTag(raw: string): string | null {
  const t = raw.trim().split(/\s+/).filter(Boolean).join('-').toLowerCase();
  if (!t || [...t].length > MAX_FAQ_TAG_CHARS || !/^[\p{L}\p{N}_-]+$/u.test(t)) return null;
  return t;
}

/** Tags typed as "pay, office move": normalised, sorted, deduplicated. */
export function parseTags(text: string): { tags: string[]; error?: string } {
  const tags = new Set<string>();
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const t = normaliseTag(part);
    if (!t) return { tags: [], error: `“${part.trim()}” is not a tag: letters, digits, - or _, up to ${MAX_FAQ_TAG_CHARS}` };
    tags.add(t);
  }
  if (tags.size > MAX_FAQ_TAGS) return { tags: [], error: `At most ${MAX_FAQ_TAGS} tags` };
  return { tags: [...tags].sort() };
}

type Request = (f: ClientFrame) => Promise<ServerFrame>;

/** The FAQ page's state: the current search, its results and the tags in use. */
export class FaqData {
  readonly entries = signal<FaqEntry[]>([]);
  readonly tags = signal<FaqTag[]>([]);
  readonly loading = signal(false);
  readonly error = signal('');
  private asked = 0;

  constructor(private readonly request: Request) {}

  /** Search; a later call wins over an earlier one still in flight. */
  async load(q: string, tag: string | null): Promise<void> {
    const mine = ++this.asked;
    this.loading.value = true;
    try {
      const f: ClientFrame = { type: 'faq' };
      if (q.trim()) f.q = q.trim();
      if (tag) f.tag = tag;
      const reply = await this.request(f);
      if (mine !== this.asked || reply.type !== 'faq_entries') return;
      this.entries.value = reply.entries;
      this.tags.value = reply.tags;
      this.error.value = '';
    } catch (e) {
      if (mine === this.asked) this.error.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (mine === this.asked) this.loading.value = false;
    }
  }

  async unpublish(id: number): Promise<void> {
    await this.request({ type: 'faq_unpublish', id });
    this.entries.value = this.entries.value.filter((e) => e.id !== id);
  }

  async retag(id: number, tags: string[]): Promise<void> {
    const reply = await this.request({ type: 'faq_tags', id, tags });
    if (reply.type === 'faq_entry') {
      this.entries.value = this.entries.value.map((e) => (e.id === id ? reply.entry : e));
    }
  }
}

/** Publish the answered question `room`/`seq`; its entry. */
export async function publishToFaq(request: Request, room: RoomId, seq: RoomSeq, tags: string[]): Promise<FaqEntry> {
  const reply = await request({ type: 'faq_publish', room, seq, tags });
  if (reply.type !== 'faq_entry') throw new Error('unexpected reply');
  return reply.entry;
}

/** Answer the question `room`/`seq` with FAQ entry `id`. */
export async function answerWithFaq(request: Request, room: RoomId, seq: RoomSeq, id: number): Promise<void> {
  await request({ type: 'faq_answer', room, seq, id });
}
