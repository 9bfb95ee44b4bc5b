// Merging duplicate questions: what the Questions view may send as one
// `merge_questions`. Pure, so the rules are unit-tested apart from the UI.

import type { OpenQuestion, RoomId, RoomSeq } from './protocol';

export type MergePlan =
  | { ok: true; room: RoomId; questions: RoomSeq[]; into: RoomSeq }
  | { ok: false; reason: string };

/** A key for one question across rooms. */
export function questionKey(q: { room: RoomId; seq: RoomSeq }): string {
  return `${q.room}:${q.seq}`;
}

/**
 * The merge for the selected questions into `into` (a key among them; by
 * default the oldest). The server merges within one room only.
 */
export function mergePlan(selected: readonly OpenQuestion[], into?: string): MergePlan {
  if (selected.length < 2) return { ok: false, reason: 'Select two or more questions to merge.' };
  const room = selected[0]!.room;
  if (selected.some((q) => q.room !== room)) return { ok: false, reason: 'Only questions from the same room can be merged.' };
  const oldest = [...selected].sort((a, b) => a.asked_at - b.asked_at || a.seq - b.seq)[0]!;
  const canonical = selected.find((q) => questionKey(q) === into) ?? oldest;
  return {
    ok: true,
    room,
    questions: selected.filter((q) => q !== canonical).map((q) => q.seq),
    into: canonical.seq,
  };
}
