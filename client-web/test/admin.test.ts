import { describe, expect, it } from 'vitest';
import { describeAction } from '../src/components/Admin';
import { mergePlan, questionKey } from '../src/merge';
import type { OpenQuestion } from '../src/protocol';
import { parseRoute } from '../src/router';
import { alice } from './fake';

function q(room: string, seq: number, asked_at: number, body = `q${seq}`): OpenQuestion {
  return { room, room_name: room, seq, asker: alice, body, asked_at, age_ms: 0, votes: 0 };
}

describe('merging questions', () => {
  it('needs two or more questions from one room', () => {
    expect(mergePlan([])).toMatchObject({ ok: false });
    expect(mergePlan([q('a', 3, 1)])).toMatchObject({ ok: false, reason: /two or more/ });
    expect(mergePlan([q('a', 3, 1), q('b', 4, 2)])).toMatchObject({ ok: false, reason: /same room/ });
  });

  it('keeps the oldest by default, or the one chosen, and merges the others into it', () => {
    const qs = [q('a', 9, 300), q('a', 4, 100), q('a', 7, 200)];
    expect(mergePlan(qs)).toEqual({ ok: true, room: 'a', questions: [9, 7], into: 4 });
    expect(mergePlan(qs, questionKey(qs[0]!))).toEqual({ ok: true, room: 'a', questions: [4, 7], into: 9 });
    // A choice that is no longer selected falls back to the oldest.
    expect(mergePlan(qs, 'a:99')).toMatchObject({ into: 4 });
  });
});

describe('administration', () => {
  it('has its own route', () => {
    expect(parseRoute('#/admin')).toEqual({ name: 'admin' });
  });

  it('names audit actions in words, and unknown ones readably', () => {
    expect(describeAction('set_room_role')).toBe('changed the room role of');
    expect(describeAction('update_user')).toBe('changed user');
    expect(describeAction('some_new_thing')).toBe('some new thing');
  });
});
