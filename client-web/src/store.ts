// The client's state and everything that changes it: rooms with their unread
// counts and read markers, timelines, the outbox, presence and typing. Frames
// from the server come in through `handleFrame`; the UI reads the signals and
// calls the actions. No DOM here, so the unit tests drive it directly.

import { withUpdate } from './roomAdmin';
import { AnonQuestions } from './anon';
import { Profile } from './profile';
import { RumourWatch } from './watch';
import { Reminders } from './reminder';
import { batch, computed, signal } from '@preact/signals';
import { Connection, RequestError, defaultWsUrl, type ConnState, type SocketLike } from './connection';
import { isChange } from './protocol';
import type {
  ChatEvent,
  Notice,
  OpenQuestion,
  QuestionSort,
  PendingAck,
  ReachCounts,
  RoomRole,
  ClientFrame,
  LoginResponse,
  MemberInfo,
  Pos,
  RoomId,
  RoomInfo,
  RoomSeq,
  RoomSummary,
  ServerFrame,
  UserId,
  UserInfo,
  Visibility,
} from './protocol';
import * as storage from './storage';
import type { OutboxItem } from './storage';
import { mentions } from './text';
import * as tl from './timeline';
import type { Timeline } from './timeline';
import * as th from './thread';
import type { ThreadState } from './thread';

export interface RoomState {
  id: RoomId;
  /** Unknown until `summary`/`my_rooms` names the room (events can come first). */
  info?: RoomInfo;
  /** Seq of the room's latest event known here. */
  lastSeq: RoomSeq;
  /** My read marker: everything up to it is read. */
  readSeq: RoomSeq;
  /** Messages from others after the read marker. */
  unread: number;
  /** Of those, the ones that mention me. */
  mentions: number;
  latest?: ChatEvent;
  timeline: Timeline;
}

/** What the open room's pane shows. */
export interface RoomView {
  room: RoomId;
  status: 'loading' | 'ready' | 'not_found' | 'not_member' | 'error';
  /** Seq of the last read event when the room was opened: the divider goes after it. */
  dividerSeq: RoomSeq | null;
  /** Public room the user is not in: offered to join. */
  preview?: RoomInfo;
  error?: string;
  loadingOlder: boolean;
  loadingNewer: boolean;
  /** Opened at this message (a link to it): scrolled to and highlighted. */
  focusSeq?: RoomSeq;
}

export interface QuestionsInfo {
  questions: readonly OpenQuestion[];
  open: number;
  median7d?: number;
  median30d?: number;
}

export interface TypingEntry {
  user: UserInfo;
  until: number;
}

export interface StoreOptions {
  session: LoginResponse;
  url?: string;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  /** May the read marker move now? Default: tab visible and window focused. */
  isActive?: () => boolean;
  onAuthLost?: (why: string) => void;
}

/** Typing shows this long after the last `typing` frame. */
const TYPING_SHOW_MS = 6_000;
/** A `typing` frame goes out at most this often per room while the user types. */
const TYPING_SEND_MS = 3_000;
/** How often the processed position is acknowledged to the server. */
const ACK_POS_MS = 5_000;
/** A send with no ack in this time while connected is shown as failed. */
const SEND_TIMEOUT_MS = 20_000;
/** Backlog events applied in one UI update at most. */
const BACKLOG_BATCH = 2000;
/** Notices kept in memory: the latest screenful and then some. */
const NOTICES_KEPT = 100;

/** The key of a question or thread in the vote and follow maps. */
export function voteKey(room: RoomId, seq: RoomSeq): string {
  return `${room}:${seq}`;
}

/** History page size: a couple of screens. */
export const PAGE = 50;
/** Events shown above the divider for context when a room opens. */
const CONTEXT_BEFORE_DIVIDER = 15;

export class ChatStore {
  /** Who I am; each `welcome` refreshes it (an admin may change my role). */
  me: UserInfo;
  /** In the transformation team: may answer questions in any room I can see. */
  transformationTeam = false;
  readonly token: string;
  readonly conn: Connection;
  /** Anonymous questions and the moderation queue (anon.ts). */
  readonly anon = new AnonQuestions((f) => this.conn.request(f));
  /** Rumour watch: the team's watch list, my alerts, weekly counts (watch.ts). */
  readonly watch = new RumourWatch((f) => this.conn.request(f));
  /** Broadcast reminders, received and sent (reminder.ts). */
  readonly reminders = new Reminders({
    request: (f) => this.conn.request(f),
    pinned: () => this.pendingAcks.value,
    acknowledged: (b) => this.acknowledged.has(b),
    loadPending: () => this.loadPendingAcks(),
  });
  readonly connState = signal<ConnState>('connecting');
  /** True once the first summary arrived (the room list is real). */
  readonly loaded = signal(false);
  readonly rooms = signal<ReadonlyMap<RoomId, RoomState>>(new Map());
  readonly outbox = signal<readonly OutboxItem[]>([]);
  /** client_ids acked in this session: their messages show "sent". */
  readonly sentIds = signal<ReadonlySet<string>>(new Set());
  readonly online = signal<ReadonlySet<UserId>>(new Set());
  readonly typing = signal<ReadonlyMap<RoomId, ReadonlyMap<UserId, TypingEntry>>>(new Map());
  readonly view = signal<RoomView | null>(null);
  readonly members = signal<ReadonlyMap<RoomId, readonly MemberInfo[]>>(new Map());
  readonly users = signal<readonly UserInfo[]>([]);
  /** My display name and others' changes to theirs (profile.ts). */
  readonly profile = new Profile(
    (f) => this.conn.request(f),
    this.users,
    this.members,
    (u) => (this.me = u),
  );
  /** Bumped when a question is asked, answered or deleted: the Questions view reloads. */
  readonly questionsTick = signal(0);
  /** Live vote counts (`question_votes`) by `room:seq`; newer than the stored state. */
  readonly voteCounts = signal<ReadonlyMap<string, number>>(new Map());
  /** Questions I voted for / questions and threads I follow, as far as this tab knows (by `room:seq`). */
  readonly myVotes = signal<ReadonlySet<string>>(new Set());
  readonly myFollows = signal<ReadonlySet<string>>(new Set());
  /** Notices about what I asked, voted for or follow; newest last, at most NOTICES_KEPT. */
  readonly notices = signal<readonly Notice[]>([]);
  /** Notices that arrived since the list was last looked at. */
  readonly unseenNotices = signal(0);
  /** The newest live message in the open room, for the screen-reader live region. */
  readonly announcement = signal('');
  /** Broadcasts waiting for my acknowledgement, oldest first (pinned). */
  readonly pendingAcks = signal<readonly PendingAck[]>([]);
  /** Latest reach counts of my broadcasts, from `reach_update` (and `reach`). */
  readonly reachCounts = signal<ReadonlyMap<string, ReachCounts>>(new Map());
  /** The thread open beside the room, if any. */
  readonly thread = signal<ThreadState | null>(null);
  /** The leaders I follow (from `following`, then my own follow/unfollow). */
  readonly following = signal<ReadonlySet<UserId>>(new Set());
  /** The people I block (asked for the first time a DM opens, then kept by my own block/unblock). */
  readonly blocked = signal<ReadonlySet<UserId>>(new Set());
  private blockedAsked = false;
  /** Called for each live event (not the backlog after a connect): desktop notifications (notify.ts). */
  onLive: ((e: ChatEvent) => void) | null = null;

  /** Rooms I am in, sorted so that what changed is on top. */
  readonly roomList = computed(() => sortRooms([...this.rooms.value.values()].filter((r) => r.info)));
  readonly totalUnread = computed(() => {
    let n = 0;
    for (const r of this.rooms.value.values()) if (r.info) n += r.unread;
    return n;
  });

  /** Highest `pos` processed from the event stream. */
  private processedPos: Pos;
  private ackedPos: Pos;
  private ackTimer: ReturnType<typeof setInterval> | null = null;
  private sendTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private rateLimitedTries = new Map<string, number>();
  private typingSentAt = new Map<RoomId, number>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private summaryTimer: ReturnType<typeof setTimeout> | null = null;
  private markReadInFlight = new Map<RoomId, RoomSeq>();
  private markReadWanted = new Map<RoomId, RoomSeq>();
  private readonly isActive: () => boolean;
  /** Backlog events not applied yet; null once caught up (live events apply at once). */
  private backlog: ChatEvent[] | null = null;
  private backlogTimer: ReturnType<typeof setTimeout> | null = null;
  /** Rooms whose timeline was loaded from history in this session. */
  private openedRooms = new Set<RoomId>();
  private stopped = false;
  /** Broadcasts whose `opened` receipt went out in this session. */
  private openedSent = new Set<string>();
  /** Broadcasts I acknowledged in this session (a late `pending_acks` reply must not re-pin them). */
  private acknowledged = new Set<string>();

  constructor(private readonly opts: StoreOptions) {
    this.me = opts.session.user;
    this.token = opts.session.token;
    this.processedPos = storage.loadPos(this.me.id) ?? 0;
    this.ackedPos = this.processedPos;
    this.outbox.value = storage.loadOutbox(this.me.id).map((i) => ({ ...i }));
    this.isActive =
      opts.isActive ??
      (() => globalThis.document?.visibilityState === 'visible' && globalThis.document.hasFocus());
    this.conn = new Connection({
      url: opts.url ?? defaultWsUrl(),
      token: this.token,
      device: storage.deviceId(),
      resume: () => (this.processedPos > 0 ? this.processedPos : undefined),
      onFrame: (f) => this.handleFrame(f),
      onState: (s) => {
        if (s !== 'connected') {
          // The link dropped mid-backlog: keep what arrived.
          this.flushBacklog();
          this.backlog = null;
        }
        this.connState.value = s;
      },
      onReady: () => this.onReady(),
      onAuthLost: (why) => this.opts.onAuthLost?.(why),
      ...(opts.createSocket ? { createSocket: opts.createSocket } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    });
  }

  start(): void {
    this.conn.start();
    this.ackTimer = setInterval(() => this.flushPos(), ACK_POS_MS);
  }

  stop(): void {
    this.stopped = true;
    this.flushPos();
    this.conn.stop();
    if (this.ackTimer) clearInterval(this.ackTimer);
    if (this.typingTimer) clearTimeout(this.typingTimer);
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    if (this.onlineTimer) clearTimeout(this.onlineTimer);
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    for (const t of this.sendTimers.values()) clearTimeout(t);
    this.sendTimers.clear();
  }

  get lastProcessedPos(): Pos {
    return this.processedPos;
  }

  // ---------------------------------------------------------------- frames

  handleFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'welcome':
        this.me = f.user;
        this.profile.me.value = f.user;
        this.transformationTeam = f.transformation_team === true;
        // The server's data was restored from an older backup: our
        // positions and timelines belong to a history it no longer has.
        if (f.reset) {
          storage.savePos(this.me.id, f.resume_from);
          if (typeof location !== 'undefined') location.reload();
        }
        break;
      case 'event':
        if (this.backlog) this.queueBacklog(stripType(f));
        else {
          const e = stripType(f);
          this.onStreamEvent(e);
          this.pinIfAsked(e);
          this.onLive?.(e);
        }
        break;
      case 'caught_up':
        mark('caught_up');
        this.flushBacklog();
        this.backlog = null;
        if (f.pos > this.processedPos) this.processedPos = f.pos;
        this.flushPos();
        // What the backlog brought that still needs my acknowledgement.
        void this.loadPendingAcks().catch(() => undefined);
        break;
      case 'ack':
        this.onAck(f);
        break;
      case 'error':
        if (f.req_id?.startsWith('send:')) this.onSendError(f.req_id.slice(5), f.code, f.message);
        break;
      case 'summary':
        mark('summary');
        this.applySummary(f.rooms);
        break;
      case 'rooms':
        if (f.req_id?.startsWith('my_rooms')) this.applyMyRooms(f.rooms);
        break;
      case 'room':
        this.upsertInfo(f.room);
        break;
      case 'read_marker':
        this.applyReadMarker(f.room, f.seq);
        break;
      case 'typing':
        this.onTyping(f.room, f.user);
        break;
      case 'presence': {
        const next = new Set(this.online.value);
        if (f.online) next.add(f.user);
        else next.delete(f.user);
        this.online.value = next;
        break;
      }
      case 'online':
        this.online.value = new Set(f.users);
        break;
      case 'members': {
        const next = new Map(this.members.value);
        next.set(f.room, f.members);
        this.members.value = next;
        break;
      }
      case 'users':
        this.users.value = f.users;
        break;
      case 'reach_update':
        this.setReachCounts(f.broadcast, f.counts);
        break;
      case 'question_votes': {
        const next = new Map(this.voteCounts.value);
        next.set(voteKey(f.room, f.seq), f.votes);
        this.voteCounts.value = next;
        this.questionsTick.value++;
        break;
      }
      case 'notice': {
        const { type: _type, ...n } = f;
        this.onNotice(n);
        break;
      }
      case 'broadcast_reminder': {
        const { type: _type, ...r } = f;
        this.reminders.handle(r, this.backlog === null);
        break;
      }
      case 'following':
        this.following.value = new Set(f.users.map((u) => u.id));
        break;
      default:
        if (!this.watch.handleFrame(f) && !this.profile.handleFrame(f)) this.anon.handleFrame(f);
        break;
    }
  }

  private onReady(): void {
    mark('welcome');
    this.backlog = [];
    // Everything the user wrote that has no ack yet goes out once per
    // connection; the server answers a repeat client_id with the first ack.
    for (const item of this.outbox.value) if (item.status === 'sending') this.transmit(item);
    this.conn.send({ type: 'summary', req_id: 'summary' });
    this.conn.send({ type: 'online', req_id: 'online' });
    this.conn.send({ type: 'following', req_id: 'following' });
    this.anon.onReady(this.transformationTeam);
    this.watch.onReady(this.transformationTeam);
    // A room that failed to load because the link dropped loads now.
    const v = this.view.value;
    if (v && v.status === 'error') void this.openRoom(v.room);
  }

  /**
   * Backlog events are applied in batches: one UI update per batch instead of
   * one per frame (a thousand renders of the room list cost more than the
   * events themselves). The batch closes at caught_up, or every 100 ms on a
   * long backlog so the screen fills in progressively.
   */
  private queueBacklog(e: ChatEvent): void {
    this.backlog!.push(e);
    if (this.backlog!.length >= BACKLOG_BATCH) this.flushBacklog();
    else if (!this.backlogTimer) this.backlogTimer = setTimeout(() => this.flushBacklog(), 100);
  }

  private flushBacklog(): void {
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    this.backlogTimer = null;
    const events = this.backlog;
    if (!events || events.length === 0) return;
    this.backlog = [];
    batch(() => {
      for (const e of events) this.onStreamEvent(e);
    });
  }

  /** An event from the ordered stream (backlog or live). */
  onStreamEvent(e: ChatEvent): void {
    if (e.pos <= this.processedPos) return; // already seen: a resume overlap
    this.processedPos = e.pos;
    // A broadcast reached this device: tell its sender's reach ledger.
    if (e.content.kind === 'broadcast' && e.sender.id !== this.me.id) {
      this.conn.send({ type: 'broadcast_receipt', broadcast: e.content.broadcast, kind: 'delivered' });
    }
    batch(() => {
      this.mergeRoomEvents(e.room, [e], true);
      const open = this.thread.value;
      if (open) {
        const next = th.applyEvent(open, e);
        if (next !== open) this.thread.value = next;
      }
      if (e.client_id && e.sender.id === this.me.id) this.settleOutbox(e.client_id);
      this.clearTyping(e.room, e.sender.id);
      const c = e.content;
      if ((c.kind === 'message' && c.question) || c.kind === 'answered' || c.kind === 'deleted') this.questionsTick.value++;
      const v = this.view.value;
      if (v && v.room === e.room && e.content.kind === 'message' && e.sender.id !== this.me.id) {
        this.announcement.value = `${e.sender.display_name}: ${e.content.body}`;
        if (v.dividerSeq === null && !this.isActive()) {
          // Arrived while the user looks elsewhere: show where new starts.
          this.view.value = { ...v, dividerSeq: e.seq - 1 };
        }
      }
    });
    if (e.content.kind === 'member' && e.content.user.id === this.me.id) {
      if (e.content.action === 'left' || e.content.action === 'removed') this.forgetRoom(e.room);
      else this.refreshSummarySoon();
    } else if (!this.rooms.value.get(e.room)?.info) {
      this.refreshSummarySoon();
    }
    if (e.content.kind === 'member' && e.content.user.id !== this.me.id) {
      // Presence frames only reach people who share a room: someone new in a
      // room may have been online all along.
      this.refreshOnlineSoon();
    }
    if (e.content.kind === 'room_role_set' && e.content.user.id === this.me.id) this.refreshSummarySoon();
    if ((e.content.kind === 'member' || e.content.kind === 'room_role_set') && this.members.value.has(e.room)) {
      this.conn.send({ type: 'members', room: e.room, req_id: `members:${e.room}` });
    }
  }

  /**
   * Add events to a room; `counting` events move lastSeq and the unread
   * counts. Thread replies new here count on their parent (`replies`: the
   * stream and acks; a history page already carries the counts).
   */
  private mergeRoomEvents(roomId: RoomId, events: readonly ChatEvent[], counting: boolean, replies = counting): void {
    const rooms = new Map(this.rooms.value);
    const room = rooms.get(roomId) ?? newRoom(roomId);
    const fresh = replies ? events.filter((e) => th.threadOf(e) !== undefined && !tl.contains(room.timeline, e.seq)) : [];
    let timeline = tl.mergeEvents(room.timeline, events);
    if (fresh.length) timeline = th.countReplies(timeline, fresh);
    // Stream events that change other messages fold into their targets (a
    // history page already carries its messages' current state).
    if (counting) {
      const changes = events.filter((e) => isChange(e.content));
      if (changes.length) timeline = tl.applyChanges(timeline, changes);
    }
    let next: RoomState = { ...room, timeline };
    if (counting) {
      for (const e of events) {
        if (e.seq <= next.lastSeq) continue;
        next.lastSeq = e.seq;
        next.latest = e;
        // Broadcasts count as unread like messages (the server's rule); mentions are messages only.
        if ((e.content.kind === 'message' || e.content.kind === 'broadcast') && e.sender.id !== this.me.id && e.seq > next.readSeq) {
          next.unread += 1;
          if (e.content.kind === 'message' && mentions(e.content.body, this.me.username)) next.mentions += 1;
        }
        if (e.content.kind === 'room_updated' && next.info) next.info = withUpdate(next.info, e.content);
        if (e.content.kind === 'member' && next.info && (e.content.action === 'joined' || e.content.action === 'added')) {
          next.info = { ...next.info, member_count: next.info.member_count + 1 };
        } else if (e.content.kind === 'member' && next.info) {
          next.info = { ...next.info, member_count: Math.max(0, next.info.member_count - 1) };
        }
      }
    }
    if (next.timeline === room.timeline && next.lastSeq === room.lastSeq && rooms.has(roomId)) return;
    rooms.set(roomId, next);
    this.rooms.value = rooms;
  }

  applySummary(list: readonly RoomSummary[]): void {
    batch(() => {
      const rooms = new Map(this.rooms.value);
      const present = new Set<RoomId>();
      for (const s of list) {
        present.add(s.room.id);
        const room = rooms.get(s.room.id) ?? newRoom(s.room.id);
        const next: RoomState = { ...room, info: s.room, readSeq: Math.max(room.readSeq, s.read_seq) };
        if (s.last_seq >= room.lastSeq) {
          // The server's snapshot is at least as new as what we counted.
          next.lastSeq = s.last_seq;
          next.unread = s.unread;
          next.mentions = s.mentions;
          if (s.latest) next.latest = s.latest;
        }
        if (next.readSeq >= next.lastSeq && (next.readSeq > room.readSeq || next.readSeq > s.read_seq)) {
          next.unread = 0;
          next.mentions = 0;
        } else if (room.readSeq > s.read_seq) {
          // Our own mark_read is ahead of the server's snapshot (not
          // applied there yet): its unread count is older than ours.
          // Recount from what is loaded, else keep ours; never take the
          // stale count, or the badge would stay until the next summary.
          const counted = this.countUnread(next);
          next.unread = counted ? counted.unread : room.unread;
          next.mentions = counted ? counted.mentions : room.mentions;
        }
        rooms.set(s.room.id, next);
      }
      for (const [id, r] of rooms) if (r.info && !present.has(id)) rooms.delete(id);
      this.rooms.value = rooms;
      this.loaded.value = true;
    });
  }

  private applyMyRooms(list: readonly RoomInfo[]): void {
    for (const info of list) this.upsertInfo(info);
  }

  private upsertInfo(info: RoomInfo): void {
    // `room` replies also describe rooms we are not in (a public preview);
    // only my_role marks membership.
    if (info.my_role === undefined && !this.rooms.value.get(info.id)?.info) return;
    const rooms = new Map(this.rooms.value);
    const room = rooms.get(info.id) ?? newRoom(info.id);
    rooms.set(info.id, { ...room, info });
    this.rooms.value = rooms;
  }

  private forgetRoom(roomId: RoomId): void {
    const rooms = new Map(this.rooms.value);
    rooms.delete(roomId);
    this.rooms.value = rooms;
    const v = this.view.value;
    if (v && v.room === roomId) this.view.value = { ...v, status: 'not_member' };
  }

  applyReadMarker(roomId: RoomId, seq: RoomSeq): void {
    const room = this.rooms.value.get(roomId);
    if (!room || seq <= room.readSeq) return;
    const next: RoomState = { ...room, readSeq: seq };
    if (seq >= room.lastSeq) {
      next.unread = 0;
      next.mentions = 0;
    } else {
      const counted = this.countUnread(next);
      if (counted) {
        next.unread = counted.unread;
        next.mentions = counted.mentions;
      } else {
        this.refreshSummarySoon();
      }
    }
    const rooms = new Map(this.rooms.value);
    rooms.set(roomId, next);
    this.rooms.value = rooms;
  }

  /** Recount unread from loaded events, when every event after the marker is here. */
  private countUnread(room: RoomState): { unread: number; mentions: number } | null {
    let unread = 0;
    let ment = 0;
    const bySeq = new Map<RoomSeq, ChatEvent>();
    for (const e of room.timeline.run) bySeq.set(e.seq, e);
    for (const [s, e] of room.timeline.stash) bySeq.set(s, e);
    for (let s = room.readSeq + 1; s <= room.lastSeq; s++) {
      const e = bySeq.get(s);
      if (!e) return null;
      if ((e.content.kind === 'message' || e.content.kind === 'broadcast') && e.sender.id !== this.me.id) {
        unread++;
        if (e.content.kind === 'message' && mentions(e.content.body, this.me.username)) ment++;
      }
    }
    return { unread, mentions: ment };
  }

  private refreshSummarySoon(): void {
    if (this.summaryTimer || this.stopped) return;
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = null;
      this.conn.send({ type: 'summary', req_id: 'summary' });
    }, 300);
  }

  private onlineTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshOnlineSoon(): void {
    if (this.onlineTimer || this.stopped) return;
    this.onlineTimer = setTimeout(() => {
      this.onlineTimer = null;
      this.conn.send({ type: 'online', req_id: 'online' });
    }, 300);
  }

  private flushPos(): void {
    if (this.processedPos === this.ackedPos) return;
    storage.savePos(this.me.id, this.processedPos);
    if (this.conn.send({ type: 'ack_pos', pos: this.processedPos })) this.ackedPos = this.processedPos;
  }

  // ---------------------------------------------------------------- outbox

  /** Write a message: it shows at once as "sending" and survives a reload. */
  sendMessage(
    room: RoomId,
    body: string,
    opts: { question?: boolean; thread?: RoomSeq; attachments?: string[] } = {},
  ): OutboxItem {
    const item: OutboxItem = {
      client_id: storage.uuidv4(),
      room,
      body,
      created_at: Date.now(),
      status: 'sending',
    };
    if (opts.question) item.question = true;
    if (opts.thread !== undefined) item.thread = opts.thread;
    if (opts.attachments?.length) item.attachments = opts.attachments;
    this.setOutbox([...this.outbox.value, item]);
    this.transmit(item);
    return item;
  }

  retry(clientId: string): void {
    const item = this.outbox.value.find((i) => i.client_id === clientId);
    if (!item) return;
    const again: OutboxItem = { ...item, status: 'sending' };
    delete again.error;
    this.setOutbox(this.outbox.value.map((i) => (i.client_id === clientId ? again : i)));
    this.transmit(again);
  }

  discard(clientId: string): void {
    this.setOutbox(this.outbox.value.filter((i) => i.client_id !== clientId));
  }

  private transmit(item: OutboxItem): void {
    const frame: ClientFrame = {
      type: 'send',
      req_id: `send:${item.client_id}`,
      room: item.room,
      client_id: item.client_id,
      body: item.body,
      ...(item.question ? { question: true } : {}),
      ...(item.thread !== undefined ? { thread: item.thread } : {}),
      ...(item.attachments?.length ? { attachments: item.attachments } : {}),
    };
    if (!this.conn.send(frame)) return; // goes out from onReady
    const old = this.sendTimers.get(item.client_id);
    if (old) clearTimeout(old);
    this.sendTimers.set(
      item.client_id,
      setTimeout(() => {
        this.sendTimers.delete(item.client_id);
        // Still connected and no answer: let the person decide. A retry is
        // safe, the client_id makes it idempotent.
        if (this.conn.isReady) this.onSendError(item.client_id, 'timeout', 'No answer from the server.');
      }, SEND_TIMEOUT_MS),
    );
  }

  private onAck(a: Extract<ServerFrame, { type: 'ack' }>): void {
    const item = this.outbox.value.find((i) => i.client_id === a.client_id);
    batch(() => {
      if (item) {
        // The ack carries everything the event has: show it in its place now
        // rather than waiting for the live frame (which then dedupes by seq).
        const ev: ChatEvent = {
          pos: a.pos,
          room: a.room,
          seq: a.seq,
          ts: a.ts,
          sender: this.me,
          client_id: a.client_id,
          content: {
            kind: 'message',
            body: item.body,
            ...(item.question ? { question: true } : {}),
            ...(item.thread !== undefined ? { thread: item.thread } : {}),
          },
        };
        this.mergeRoomEvents(a.room, [ev], false, true);
        const open = this.thread.value;
        if (open) {
          const next = th.applyEvent(open, ev);
          if (next !== open) this.thread.value = next;
        }
        const room = this.rooms.value.get(a.room);
        if (room && a.seq > room.lastSeq) {
          const rooms = new Map(this.rooms.value);
          rooms.set(a.room, { ...room, lastSeq: a.seq, latest: ev });
          this.rooms.value = rooms;
        }
      }
      this.settleOutbox(a.client_id);
    });
  }

  private settleOutbox(clientId: string): void {
    const t = this.sendTimers.get(clientId);
    if (t) clearTimeout(t);
    this.sendTimers.delete(clientId);
    if (this.outbox.value.some((i) => i.client_id === clientId)) {
      this.setOutbox(this.outbox.value.filter((i) => i.client_id !== clientId));
    }
    if (!this.sentIds.value.has(clientId)) {
      const s = new Set(this.sentIds.value);
      s.add(clientId);
      this.sentIds.value = s;
    }
  }

  private onSendError(clientId: string, code: string, message: string): void {
    const t = this.sendTimers.get(clientId);
    if (t) clearTimeout(t);
    this.sendTimers.delete(clientId);
    // A server going down answers this way; the message goes out again on
    // the next connection without bothering the person.
    if (code === 'shutting_down') return;
    if (code === 'rate_limited' || code === 'unavailable') {
      // Over the server's request budget, or (cluster) the log did not take
      // the write in time: try again shortly, same client_id (stored once).
      const item = this.outbox.value.find((i) => i.client_id === clientId);
      const tries = (this.rateLimitedTries.get(clientId) ?? 0) + 1;
      if (item && tries <= 5) {
        this.rateLimitedTries.set(clientId, tries);
        setTimeout(() => {
          const still = this.outbox.value.find((i) => i.client_id === clientId);
          if (still && still.status === 'sending' && !this.stopped) this.transmit(still);
        }, 1_000 * tries);
        return;
      }
    }
    this.setOutbox(
      this.outbox.value.map((i) =>
        i.client_id === clientId ? { ...i, status: 'failed' as const, error: describeError(code, message) } : i,
      ),
    );
  }

  private setOutbox(items: readonly OutboxItem[]): void {
    this.outbox.value = items;
    storage.saveOutbox(this.me.id, [...items]);
  }

  // ---------------------------------------------------------------- reading

  /** Open a room: find where the person left off and load the page around it. */
  async openRoom(roomId: RoomId, at?: RoomSeq): Promise<void> {
    const room = this.rooms.value.get(roomId);
    const unreadFrom = room?.info && room.unread > 0 && room.lastSeq > room.readSeq ? room.readSeq : null;
    this.view.value = {
      room: roomId,
      status: room?.info ? 'ready' : 'loading',
      dividerSeq: unreadFrom,
      loadingOlder: false,
      loadingNewer: false,
      ...(at !== undefined ? { focusSeq: at } : {}),
    };
    void this.loadRoomMarks(roomId).catch(() => undefined);
    if (!room?.info) {
      await this.openUnknownRoom(roomId);
      return;
    }
    if (at !== undefined) {
      // A link to one message: the page around it.
      this.patchView(roomId, { status: 'loading' });
      try {
        let page = await this.history(roomId, { after: Math.max(0, at - CONTEXT_BEFORE_DIVIDER - 1), limit: PAGE * 2 });
        let events = page.events;
        // A page stops early when its messages are large (the server's
        // reply budget): read on until the linked message is in.
        for (let i = 0; i < 20 && page.has_more; i++) {
          const last = events[events.length - 1]?.seq;
          if (last === undefined || last >= at) break;
          page = await this.history(roomId, { after: last, limit: PAGE * 2 });
          events = [...events, ...page.events];
        }
        this.resetTimeline(roomId, events);
        this.openedRooms.add(roomId);
        this.patchView(roomId, { status: 'ready' });
      } catch (e) {
        this.patchView(roomId, errorView(e));
      }
      return;
    }
    const t = room.timeline;
    const first = tl.firstSeq(t);
    const last = tl.lastSeq(t);
    const anchor = unreadFrom ?? Math.max(1, room.lastSeq - PAGE / 2);
    // Already loaded in this session and still covering from the last read
    // event to the newest one: show it as it is. (Events from the stream
    // alone do not count: they may be just the tail, without context.)
    if (
      this.openedRooms.has(roomId) &&
      first !== undefined &&
      last !== undefined &&
      first <= Math.max(1, anchor) &&
      last >= room.lastSeq
    ) {
      return;
    }
    this.patchView(roomId, { status: 'loading' });
    try {
      const page =
        unreadFrom !== null
          ? await this.history(roomId, { after: Math.max(0, unreadFrom - CONTEXT_BEFORE_DIVIDER), limit: PAGE * 2 })
          : await this.history(roomId, { limit: PAGE });
      this.resetTimeline(roomId, page.events);
      this.openedRooms.add(roomId);
      this.patchView(roomId, { status: 'ready' });
    } catch (e) {
      this.patchView(roomId, errorView(e));
    }
  }

  private async openUnknownRoom(roomId: RoomId): Promise<void> {
    // Not one of my rooms (or the list is not here yet). Ask the server:
    // history answers not_found for a room this user may not see, without
    // telling whether it exists.
    try {
      if (!this.loaded.value) await this.waitLoaded();
      if (this.rooms.value.get(roomId)?.info) {
        await this.openRoom(roomId, this.view.value?.focusSeq);
        return;
      }
      const dir = await this.conn.request<Extract<ServerFrame, { type: 'rooms' }>>({ type: 'directory' });
      const pub = dir.rooms.find((r) => r.id === roomId);
      if (pub) this.patchView(roomId, { status: 'not_member', preview: pub });
      else this.patchView(roomId, { status: 'not_found' });
    } catch (e) {
      this.patchView(roomId, errorView(e));
    }
  }

  private waitLoaded(): Promise<void> {
    return new Promise((resolve) => {
      if (this.loaded.value) return resolve();
      const off = this.loaded.subscribe((v) => {
        if (v) {
          queueMicrotask(() => off());
          resolve();
        }
      });
    });
  }

  /**
   * The pane of `roomId` went away. Only that room's view is closed: Preact
   * runs an unmounted pane's effect cleanup after paint, and the next pane's
   * `openRoom` may already have run (a re-render before that flush runs its
   * pending effect at once), so a blanket reset would blank the new room.
   */
  closeRoom(roomId: RoomId): void {
    if (this.view.value?.room === roomId) this.view.value = null;
  }

  /** Scrolled to the top: the page before the first event shown. */
  async loadOlder(roomId: RoomId): Promise<void> {
    const v = this.view.value;
    const room = this.rooms.value.get(roomId);
    if (!v || v.room !== roomId || v.loadingOlder || !room || !tl.hasOlder(room.timeline)) return;
    const grown = tl.growFromStash(room.timeline, 'older');
    if (grown !== room.timeline) return this.setTimeline(roomId, grown);
    const first = tl.firstSeq(room.timeline);
    this.patchView(roomId, { loadingOlder: true });
    try {
      const page = await this.history(roomId, first === undefined ? { limit: PAGE } : { before: first, limit: PAGE });
      this.mergeRoomEvents(roomId, page.events, false);
    } catch {
      // The next scroll tries again.
    } finally {
      this.patchView(roomId, { loadingOlder: false });
    }
  }

  /** Scrolled to the bottom of a page that is not the newest: the next page. */
  async loadNewer(roomId: RoomId): Promise<void> {
    const v = this.view.value;
    const room = this.rooms.value.get(roomId);
    if (!v || v.room !== roomId || v.loadingNewer || !room) return;
    const last = tl.lastSeq(room.timeline);
    if (last === undefined || last >= room.lastSeq) return;
    const grown = tl.growFromStash(room.timeline, 'newer');
    if (grown !== room.timeline) return this.setTimeline(roomId, grown);
    this.patchView(roomId, { loadingNewer: true });
    try {
      const page = await this.history(roomId, { after: last, limit: PAGE * 2 });
      this.mergeRoomEvents(roomId, page.events, false);
    } catch {
      // The next scroll tries again.
    } finally {
      this.patchView(roomId, { loadingNewer: false });
    }
  }

  /** Jump to the newest page (after sending from an old page). */
  async jumpToLatest(roomId: RoomId): Promise<void> {
    const page = await this.history(roomId, { limit: PAGE });
    this.resetTimeline(roomId, page.events);
  }

  private setTimeline(roomId: RoomId, timeline: Timeline): void {
    const room = this.rooms.value.get(roomId);
    if (!room) return;
    const rooms = new Map(this.rooms.value);
    rooms.set(roomId, { ...room, timeline });
    this.rooms.value = rooms;
  }

  private resetTimeline(roomId: RoomId, events: readonly ChatEvent[]): void {
    const rooms = new Map(this.rooms.value);
    const room = rooms.get(roomId) ?? newRoom(roomId);
    rooms.set(roomId, { ...room, timeline: tl.resetRun(room.timeline, events) });
    this.rooms.value = rooms;
  }

  /** One event of a room, as history shows it to me now (undefined if
   * gone or not mine to read). For showing an answer outside its room. */
  async fetchEvent(room: RoomId, seq: RoomSeq): Promise<ChatEvent | undefined> {
    const loaded = this.rooms.value.get(room)?.timeline.run.find((e) => e.seq === seq);
    if (loaded) return loaded;
    const page = await this.history(room, { after: Math.max(0, seq - 1), limit: 1 });
    return page.events.find((e) => e.seq === seq);
  }

  private history(
    room: RoomId,
    q: { before?: RoomSeq; after?: RoomSeq; limit?: number },
  ): Promise<Extract<ServerFrame, { type: 'history' }>> {
    return this.conn.request({ type: 'history', room, ...q });
  }

  private patchView(roomId: RoomId, patch: Partial<RoomView>): void {
    const v = this.view.value;
    if (v && v.room === roomId) this.view.value = { ...v, ...patch };
  }

  /**
   * The person has seen everything up to `seq` in a room. Moves the read
   * marker only while the tab is visible and focused: a background tab must
   * not mark anything read.
   */
  markRead(roomId: RoomId, seq: RoomSeq): boolean {
    if (!this.isActive()) return false;
    const room = this.rooms.value.get(roomId);
    if (!room?.info || seq <= room.readSeq) return false;
    this.applyReadMarker(roomId, seq); // optimistic: the badge clears at once
    this.markReadWanted.set(roomId, Math.max(seq, this.markReadWanted.get(roomId) ?? 0));
    this.pumpMarkRead(roomId);
    return true;
  }

  /** One mark_read in flight per room; a newer wish waits for it. */
  private pumpMarkRead(roomId: RoomId): void {
    if (this.markReadInFlight.has(roomId)) return;
    const seq = this.markReadWanted.get(roomId);
    if (seq === undefined) return;
    this.markReadWanted.delete(roomId);
    this.markReadInFlight.set(roomId, seq);
    this.conn
      .request({ type: 'mark_read', room: roomId, seq })
      .catch(() => {
        // Lost with the connection: ask again; it only ever moves forward.
        const w = this.markReadWanted.get(roomId) ?? 0;
        this.markReadWanted.set(roomId, Math.max(w, seq));
      })
      .finally(() => {
        this.markReadInFlight.delete(roomId);
        if (this.markReadWanted.has(roomId) && !this.stopped) setTimeout(() => this.pumpMarkRead(roomId), 200);
      });
  }

  // ---------------------------------------------------------------- typing

  /** The person typed in the composer. */
  notifyTyping(roomId: RoomId): void {
    const now = Date.now();
    if (now - (this.typingSentAt.get(roomId) ?? 0) < TYPING_SEND_MS) return;
    if (this.conn.send({ type: 'typing', room: roomId })) this.typingSentAt.set(roomId, now);
  }

  private onTyping(roomId: RoomId, user: UserInfo): void {
    if (user.id === this.me.id) return;
    const all = new Map(this.typing.value);
    const inRoom = new Map(all.get(roomId) ?? []);
    inRoom.set(user.id, { user, until: Date.now() + TYPING_SHOW_MS });
    all.set(roomId, inRoom);
    this.typing.value = all;
    this.scheduleTypingSweep();
  }

  private clearTyping(roomId: RoomId, userId: UserId): void {
    const inRoom = this.typing.value.get(roomId);
    if (!inRoom?.has(userId)) return;
    const all = new Map(this.typing.value);
    const next = new Map(inRoom);
    next.delete(userId);
    all.set(roomId, next);
    this.typing.value = all;
  }

  private scheduleTypingSweep(): void {
    if (this.typingTimer) return;
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      const now = Date.now();
      let left = false;
      const all = new Map<RoomId, ReadonlyMap<UserId, TypingEntry>>();
      for (const [room, users] of this.typing.value) {
        const keep = new Map([...users].filter(([, t]) => t.until > now));
        if (keep.size) {
          all.set(room, keep);
          left = true;
        }
      }
      this.typing.value = all;
      if (left) this.scheduleTypingSweep();
    }, 1_000);
  }

  // ---------------------------------------------------------------- rooms & people

  async createRoom(name: string, topic: string, visibility: Visibility): Promise<RoomInfo> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'room' }>>({
      type: 'create_room',
      name,
      topic,
      visibility,
    });
    this.refreshSummarySoon();
    return r.room;
  }

  async join(roomId: RoomId): Promise<RoomInfo> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'room' }>>({ type: 'join', room: roomId });
    await this.refreshSummary();
    return r.room;
  }

  async leave(roomId: RoomId): Promise<void> {
    await this.conn.request({ type: 'leave', room: roomId });
    this.forgetRoom(roomId);
  }

  async openDm(username: string): Promise<RoomInfo> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'room' }>>({ type: 'open_dm', user: username });
    if (!this.rooms.value.get(r.room.id)?.info) await this.refreshSummary();
    return r.room;
  }

  async addMember(roomId: RoomId, username: string): Promise<void> {
    await this.conn.request({ type: 'add_member', room: roomId, user: username });
    await this.loadMembers(roomId);
  }

  async removeMember(roomId: RoomId, username: string): Promise<void> {
    await this.conn.request({ type: 'remove_member', room: roomId, user: username });
    await this.loadMembers(roomId);
  }

  async loadMembers(roomId: RoomId): Promise<readonly MemberInfo[]> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'members' }>>({ type: 'members', room: roomId });
    this.refreshOnlineSoon();
    return r.members;
  }

  async loadUsers(): Promise<readonly UserInfo[]> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'users' }>>({ type: 'users' });
    this.refreshOnlineSoon();
    return r.users;
  }

  async directory(): Promise<readonly RoomInfo[]> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'rooms' }>>({ type: 'directory' });
    return r.rooms;
  }

  // ---------------------------------------------------------------- message actions

  /** Edit my message; the `edited` event updates it everywhere. */
  async editMessage(room: RoomId, seq: RoomSeq, body: string): Promise<void> {
    await this.conn.request({ type: 'edit', room, seq, body });
  }

  async deleteMessage(room: RoomId, seq: RoomSeq): Promise<void> {
    await this.conn.request({ type: 'delete', room, seq });
  }

  async react(room: RoomId, seq: RoomSeq, emoji: string, on: boolean): Promise<void> {
    await this.conn.request({ type: 'react', room, seq, emoji, on });
  }

  async markAnswer(room: RoomId, question: RoomSeq, answer: RoomSeq): Promise<void> {
    await this.conn.request({ type: 'mark_answer', room, question, answer });
  }

  async setRoomRole(room: RoomId, username: string, role: RoomRole): Promise<void> {
    await this.conn.request({ type: 'set_room_role', room, user: username, role });
  }

  /** A notice, once (a resume from an older position sends it again). */
  private onNotice(n: Notice): void {
    const seen = this.notices.value.some((o) => o.pos === n.pos && o.seq === n.seq && o.room === n.room);
    if (seen) return;
    this.notices.value = [...this.notices.value, n].slice(-NOTICES_KEPT);
    this.unseenNotices.value++;
    const what = n.kind === 'answered' ? 'answered a question you follow' : 'replied in a thread you follow';
    this.announcement.value = `${n.by.display_name || n.by.username} ${what} in #${n.room_name}`;
  }

  /** What the server says I voted for and follow, and the counts: the truth for these questions. */
  private learnMarks(questions: readonly OpenQuestion[]): void {
    const votes = new Set(this.myVotes.value);
    const follows = new Set(this.myFollows.value);
    const counts = new Map(this.voteCounts.value);
    for (const q of questions) {
      const key = voteKey(q.room, q.seq);
      if (q.voted) votes.add(key);
      else votes.delete(key);
      if (q.following) follows.add(key);
      else follows.delete(key);
      counts.set(key, q.votes);
    }
    batch(() => {
      this.myVotes.value = votes;
      this.myFollows.value = follows;
      this.voteCounts.value = counts;
    });
  }

  /** A room's open questions: my votes and follows there, after a reload too. */
  private async loadRoomMarks(room: RoomId): Promise<void> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'questions' }>>({ type: 'questions', room });
    this.learnMarks(r.questions);
  }

  /** Vote for a question (`on`) or take the vote back. Voting follows it. */
  async vote(room: RoomId, seq: RoomSeq, on: boolean): Promise<void> {
    await this.conn.request({ type: 'vote', room, seq, on });
    const key = voteKey(room, seq);
    const votes = new Set(this.myVotes.value);
    if (on) votes.add(key);
    else votes.delete(key);
    this.myVotes.value = votes;
    if (on && !this.myFollows.value.has(key)) this.myFollows.value = new Set([...this.myFollows.value, key]);
  }

  /** Follow a question or thread (`on`) or stop. */
  async followThread(room: RoomId, seq: RoomSeq, on: boolean): Promise<void> {
    await this.conn.request({ type: 'follow_thread', room, seq, on });
    const next = new Set(this.myFollows.value);
    if (on) next.add(voteKey(room, seq));
    else next.delete(voteKey(room, seq));
    this.myFollows.value = next;
  }

  /** The open questions I may answer, the open count and median answer times. */
  async loadQuestions(sort: QuestionSort = 'age'): Promise<QuestionsInfo> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'questions' }>>({ type: 'questions', sort });
    this.learnMarks(r.questions);
    const info: QuestionsInfo = { questions: r.questions, open: r.open };
    if (r.median_answer_ms_7d !== undefined) info.median7d = r.median_answer_ms_7d;
    if (r.median_answer_ms_30d !== undefined) info.median30d = r.median_answer_ms_30d;
    return info;
  }

  /** Room owner/moderator, or a leader/admin: may mark answers. */
  mayAnswer(roomId: RoomId): boolean {
    if (this.me.role === 'admin' || this.me.role === 'leader') return true;
    if (this.transformationTeam) return true;
    const r = this.rooms.value.get(roomId)?.info?.my_role;
    return r === 'owner' || r === 'moderator';
  }

  /** May delete other people's messages: room owner/moderator or an admin (the server's rule). */
  mayModerate(roomId: RoomId): boolean {
    if (this.me.role === 'admin') return true;
    const r = this.rooms.value.get(roomId)?.info?.my_role;
    return r === 'owner' || r === 'moderator';
  }

  // ------------------------------------------------------------ broadcasts

  /** A live broadcast asking for acknowledgement pins itself until acknowledged. */
  private pinIfAsked(e: ChatEvent): void {
    const c = e.content;
    if (c.kind !== 'broadcast' || !c.ack_requested || e.sender.id === this.me.id) return;
    if (this.pendingAcks.value.some((p) => p.broadcast === c.broadcast)) return;
    this.pendingAcks.value = [
      ...this.pendingAcks.value,
      { broadcast: c.broadcast, room: e.room, seq: e.seq, sender: e.sender, body: c.body, ts: e.ts },
    ];
  }

  async loadPendingAcks(): Promise<readonly PendingAck[]> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'pending_acks' }>>({ type: 'pending_acks' });
    // Keep live arrivals the reply may not include yet.
    const ids = new Set(r.broadcasts.map((b) => b.broadcast));
    const extra = this.pendingAcks.value.filter((p) => !ids.has(p.broadcast) && !this.acknowledged.has(p.broadcast));
    this.pendingAcks.value = [...r.broadcasts.filter((b) => !this.acknowledged.has(b.broadcast)), ...extra].sort((a, b) => a.ts - b.ts);
    return this.pendingAcks.value;
  }

  /** "I have read this": tell the ledger and unpin. */
  acknowledge(broadcast: string): void {
    this.openedSent.add(broadcast);
    this.acknowledged.add(broadcast);
    this.conn.send({ type: 'broadcast_receipt', broadcast, kind: 'acknowledged' });
    this.pendingAcks.value = this.pendingAcks.value.filter((p) => p.broadcast !== broadcast);
  }

  /** The room is on screen in a focused window: its broadcasts count as opened, once each. */
  markBroadcastsOpened(roomId: RoomId): void {
    if (!this.isActive()) return;
    const room = this.rooms.value.get(roomId);
    if (!room) return;
    for (const e of room.timeline.run) {
      const c = e.content;
      if (c.kind !== 'broadcast' || e.sender.id === this.me.id || this.openedSent.has(c.broadcast)) continue;
      this.openedSent.add(c.broadcast);
      this.conn.send({ type: 'broadcast_receipt', broadcast: c.broadcast, kind: 'opened' });
    }
  }

  /** Post a broadcast (leaders and admins): `rooms` empty means everyone. */
  async postBroadcast(
    body: string,
    rooms: readonly RoomId[],
    ackRequested: boolean,
  ): Promise<Extract<ServerFrame, { type: 'broadcast_posted' }>> {
    return this.conn.request<Extract<ServerFrame, { type: 'broadcast_posted' }>>({
      type: 'broadcast',
      client_id: storage.uuidv4(),
      body,
      rooms: [...rooms],
      ack_requested: ackRequested,
    });
  }

  async loadReach(broadcast: string): Promise<Extract<ServerFrame, { type: 'reach' }>> {
    const r = await this.conn.request<Extract<ServerFrame, { type: 'reach' }>>({ type: 'reach', broadcast });
    this.setReachCounts(broadcast, r.counts);
    return r;
  }

  private setReachCounts(broadcast: string, counts: ReachCounts): void {
    const next = new Map(this.reachCounts.value);
    next.set(broadcast, counts);
    this.reachCounts.value = next;
  }

  /** One page of search results (the next page with `cursor`). */
  async search(
    query: string,
    cursor?: string,
    sort: 'newest' | 'relevance' = 'newest',
  ): Promise<Extract<ServerFrame, { type: 'search_results' }>> {
    return this.conn.request<Extract<ServerFrame, { type: 'search_results' }>>({
      type: 'search',
      query,
      ...(sort !== 'newest' ? { sort } : {}),
      ...(cursor !== undefined ? { before_cursor: cursor } : {}),
    });
  }

  async follow(user: UserInfo, on: boolean): Promise<void> {
    await this.conn.request({ type: 'follow', user: user.username, on });
    const next = new Set(this.following.value);
    if (on) next.add(user.id);
    else next.delete(user.id);
    this.following.value = next;
  }

  /** Ask once whom I block (for the Block / Unblock button of a DM). */
  async loadBlocked(): Promise<void> {
    if (this.blockedAsked) return;
    this.blockedAsked = true;
    try {
      const r = await this.conn.request<Extract<ServerFrame, { type: 'blocked' }>>({ type: 'blocked' });
      this.blocked.value = new Set(r.users.map((u) => u.id));
    } catch (e) {
      this.blockedAsked = false;
      throw e;
    }
  }

  /** Block (`on`) or unblock someone: they can no longer message me, open a DM with me or add me to rooms. */
  async block(user: UserInfo, on: boolean): Promise<void> {
    await this.conn.request({ type: 'block', user: user.username, on });
    const next = new Set(this.blocked.value);
    if (on) next.add(user.id);
    else next.delete(user.id);
    this.blocked.value = next;
  }

  // ---------------------------------------------------------------- threads

  /** Open the thread under a message: load it, then keep it current from the stream. */
  async openThread(room: RoomId, seq: RoomSeq): Promise<void> {
    const start: ThreadState = { room, seq, status: 'loading', replies: [], hasMore: false };
    this.thread.value = start;
    try {
      const r = await this.conn.request<Extract<ServerFrame, { type: 'thread' }>>({ type: 'thread', room, seq });
      const cur = this.thread.value;
      if (!cur || cur.room !== room || cur.seq !== seq) return; // closed or another one opened
      this.thread.value = th.loaded(cur, r.parent, r.replies, r.has_more);
    } catch (e) {
      const cur = this.thread.value;
      if (!cur || cur.room !== room || cur.seq !== seq) return;
      this.thread.value = { ...cur, status: 'error', error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The next page of a long thread. */
  async loadMoreReplies(): Promise<void> {
    const cur = this.thread.value;
    if (!cur || cur.status !== 'ready' || !cur.hasMore || !cur.parent) return;
    const after = cur.replies[cur.replies.length - 1]?.seq;
    const r = await this.conn.request<Extract<ServerFrame, { type: 'thread' }>>({
      type: 'thread',
      room: cur.room,
      seq: cur.seq,
      ...(after !== undefined ? { after } : {}),
    });
    const now = this.thread.value;
    if (!now || now.room !== cur.room || now.seq !== cur.seq) return;
    this.thread.value = { ...now, replies: th.mergeReplies(now.replies, r.replies), hasMore: r.has_more };
  }

  closeThread(): void {
    this.thread.value = null;
  }

  /**
   * May I start a top-level message here? In an announce-only room only
   * leaders, admins, owners and moderators do (the server's rule); everyone
   * may reply in threads.
   */
  mayPostTopLevel(roomId: RoomId): boolean {
    const info = this.rooms.value.get(roomId)?.info;
    if (!info?.announce_only) return true;
    if (this.me.role === 'admin' || this.me.role === 'leader') return true;
    return info.my_role === 'owner' || info.my_role === 'moderator';
  }

  /** Merge duplicate questions into a canonical one (those who may answer). */
  async mergeQuestions(room: RoomId, questions: readonly RoomSeq[], into: RoomSeq): Promise<void> {
    await this.conn.request({ type: 'merge_questions', room, questions: [...questions], into });
    this.questionsTick.value++;
  }

  async refreshSummary(): Promise<void> {
    await this.conn.request({ type: 'summary' });
  }
}

/** Performance marks for the login-to-first-room measurement (README). */
function mark(name: string): void {
  try {
    globalThis.performance?.mark?.(`townhall:${name}`);
  } catch {
    // marks are diagnostics only
  }
}

function stripType(f: Extract<ServerFrame, { type: 'event' }>): ChatEvent {
  const { type: _type, ...e } = f;
  return e;
}

function newRoom(id: RoomId): RoomState {
  return { id, lastSeq: 0, readSeq: 0, unread: 0, mentions: 0, timeline: tl.emptyTimeline };
}

/** Mentions first, then anything unread, then by latest activity. */
export function sortRooms(rooms: RoomState[]): RoomState[] {
  return rooms.sort((a, b) => {
    const m = Number(b.mentions > 0) - Number(a.mentions > 0);
    if (m) return m;
    const u = Number(b.unread > 0) - Number(a.unread > 0);
    if (u) return u;
    const t = (b.latest?.ts ?? 0) - (a.latest?.ts ?? 0);
    if (t) return t;
    return roomTitle(a).localeCompare(roomTitle(b));
  });
}

/** What a room is called on screen: a DM by the other person's name. */
export function roomTitle(r: { info?: RoomInfo } | RoomInfo): string {
  const info = 'id' in r && 'kind' in r ? (r as RoomInfo) : (r as { info?: RoomInfo }).info;
  if (!info) return '';
  if (info.kind === 'dm') return info.dm_peer?.display_name || info.dm_peer?.username || info.name;
  return info.name;
}

function errorView(e: unknown): Partial<RoomView> {
  if (e instanceof RequestError && (e.code === 'not_found' || e.code === 'forbidden')) return { status: 'not_found' };
  return { status: 'error', error: e instanceof Error ? e.message : String(e) };
}

export function describeError(code: string, message: string): string {
  switch (code) {
    case 'body_too_large':
      return 'Message is too long.';
    case 'rate_limited':
      return 'Too many messages; wait a moment.';
    case 'not_found':
    case 'forbidden':
    case 'not_member':
      return 'You can no longer post in this room.';
    case 'room_archived':
      return 'This room is archived: it is read-only.';
    case 'timeout':
      return 'No answer from the server.';
    default:
      return message || code;
  }
}
