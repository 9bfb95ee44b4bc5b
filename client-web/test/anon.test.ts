import { describe, expect, it } from 'vitest';
import { AnonQuestions, statusText, updateQueue, upsert } from '../src/anon';
import type { AnonQuestion, ClientFrame, ServerFrame } from '../src/protocol';

function q(id: string, asked_at: number, status: AnonQuestion['status'] = { state: 'pending' }): AnonQuestion {
  return { id, room: 'r', room_name: 'qa', body: id, asked_at, status };
}

describe('anonymous questions', () => {
  it('keeps my questions newest first, one entry per id', () => {
    let list = upsert([], q('a', 1));
    list = upsert(list, q('b', 2));
    list = upsert(list, q('a', 1, { state: 'approved', seq: 5 }));
    expect(list.map((x) => x.id)).toEqual(['b', 'a']);
    expect(list[1]!.status).toEqual({ state: 'approved', seq: 5 });
  });

  it('drops a question from the moderation queue once decided', () => {
    let queue = updateQueue([], q('b', 2));
    queue = updateQueue(queue, q('a', 1));
    expect(queue.map((x) => x.id)).toEqual(['a', 'b']);
    queue = updateQueue(queue, q('a', 1, { state: 'rejected', reason: 'no' }));
    expect(queue.map((x) => x.id)).toEqual(['b']);
  });

  it('shows the rejection reason to the asker', () => {
    expect(statusText(q('a', 1, { state: 'rejected', reason: 'Talk to HR' }))).toBe('Not published: Talk to HR');
  });

  it('routes live frames and knows where asking is allowed', async () => {
    const sent: ClientFrame[] = [];
    const anon = new AnonQuestions(async <T extends ServerFrame>(f: ClientFrame) => {
      sent.push(f);
      if (f.type === 'anonymous_settings') return { type: 'anonymous_settings', org: false, rooms: ['r'] } as unknown as T;
      if (f.type === 'my_anonymous_questions') return { type: 'anonymous_questions', questions: [] } as unknown as T;
      return { type: 'moderation_queue', questions: [q('x', 1)] } as unknown as T;
    });
    await anon.refresh(true);
    expect(anon.allowedIn('r')).toBe(true);
    expect(anon.allowedIn('other')).toBe(false);
    expect(anon.queue.value.map((x) => x.id)).toEqual(['x']);
    expect(anon.handleFrame({ type: 'anonymous_question', question: { ...q('m', 3), mine: true } })).toBe(true);
    expect(anon.mine.value.map((x) => x.id)).toEqual(['m']);
    expect(anon.handleFrame({ type: 'moderation_item', question: q('x', 1, { state: 'approved', seq: 2 }) })).toBe(true);
    expect(anon.queue.value).toEqual([]);
    expect(anon.handleFrame({ type: 'pong' })).toBe(false);
    expect(sent.map((f) => f.type)).toEqual(['anonymous_settings', 'my_anonymous_questions', 'moderation_queue']);
  });
});
