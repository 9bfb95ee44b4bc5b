// The wire protocol, mirrored from protocol/src/frames.rs, error.rs and http.rs.
// Keep the names and shapes identical: the Rust crate is the source of truth.

/** Server-wide commit position (what a device resumes from). */
export type Pos = number;
/** Per-room sequence number: 1 for the room's first event (`created`). */
export type RoomSeq = number;
/** Milliseconds since the Unix epoch, from the server's clock. */
export type Millis = number;
export type UserId = string;
export type RoomId = string;

export const PROTOCOL_VERSION = 1;
/** Largest message body in UTF-8 bytes (MAX_BODY_BYTES). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest page the server serves (MAX_PAGE). */
export const MAX_PAGE = 500;

export type Role = 'admin' | 'leader' | 'staff';
export type RoomRole = 'owner' | 'moderator' | 'member';
export type Visibility = 'public' | 'private';
export type RoomKind = 'room' | 'dm';
export type MemberAction = 'joined' | 'added' | 'left' | 'removed';

export interface UserInfo {
  id: UserId;
  username: string;
  display_name: string;
  role: Role;
  /** A transformation-team member; absent means no. */
  transformation_team?: boolean;
  /** Version of their profile picture (`GET /api/avatar/{id}?v=N`); absent: initials. */
  avatar?: number;
}

export interface RoomInfo {
  id: RoomId;
  name: string;
  topic: string;
  visibility: Visibility;
  kind: RoomKind;
  member_count: number;
  my_role?: RoomRole;
  dm_peer?: UserInfo;
  /** Only leaders, admins, owners and moderators post top-level messages. */
  announce_only?: boolean;
  /** The organisation-wide room: everyone is in it. */
  org_wide?: boolean;
  /** Read-only: out of the directory, still readable by its members. */
  archived?: boolean;
}

export interface MemberInfo {
  user: UserInfo;
  role: RoomRole;
}

/** A file posted with a message (`POST /api/files`, then `send`'s `attachments`). */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  /** Sniffed by the server from the bytes. */
  content_type: string;
  thumbnail?: boolean;
  width?: number;
  height?: number;
}

/** Most files one message carries. */
export const MAX_ATTACHMENTS = 10;

export type Content =
  | { kind: 'message'; body: string; thread?: RoomSeq; question?: boolean; attachments?: Attachment[] }
  | { kind: 'edited'; target: RoomSeq; body: string }
  | { kind: 'deleted'; target: RoomSeq }
  | { kind: 'reaction'; target: RoomSeq; emoji: string; on: boolean }
  | { kind: 'answered'; question: RoomSeq; answer: RoomSeq }
  | { kind: 'room_role_set'; user: UserInfo; role: RoomRole }
  | { kind: 'merged'; question: RoomSeq; into: RoomSeq }
  | { kind: 'broadcast'; body: string; broadcast: string; ack_requested?: boolean }
  | { kind: 'created'; name: string; topic: string; visibility: Visibility; room_kind: RoomKind }
  | { kind: 'member'; user: UserInfo; action: MemberAction }
  | { kind: 'room_updated'; name?: string; topic?: string; archived?: boolean };

export interface ChatEvent {
  pos: Pos;
  room: RoomId;
  seq: RoomSeq;
  ts: Millis;
  sender: UserInfo;
  client_id?: string;
  content: Content;
  /** What happened to a message since (history shows the current state). */
  state?: MessageState;
}

export interface RoomSummary {
  room: RoomInfo;
  last_seq: RoomSeq;
  read_seq: RoomSeq;
  unread: number;
  mentions: number;
  latest?: ChatEvent;
}

export type ErrorCode =
  | 'bad_json'
  | 'unknown_type'
  | 'missing_field'
  | 'invalid_field'
  | 'frame_too_large'
  | 'body_too_large'
  | 'not_authenticated'
  | 'bad_token'
  | 'auth_timeout'
  | 'unsupported_version'
  | 'not_found'
  | 'forbidden'
  | 'invalid_credentials'
  | 'rate_limited'
  | 'name_taken'
  | 'already_member'
  | 'not_member'
  | 'slow_consumer'
  | 'storage_error'
  | 'shutting_down'
  | 'internal'
  | 'limit_reached'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'bad_query'
  // Login only (company directory); the server's message is shown as is.
  | 'directory_unavailable'
  | 'account_source_conflict'
  | 'login_source_disabled'
  | 'not_supported'
  // Company login (OpenID Connect), shown on the login page.
  | 'oidc_state_mismatch'
  | 'oidc_denied'
  | 'oidc_token_invalid'
  // Room management.
  | 'room_archived'
  | 'organisation_room'
  // Invitation links (`/api/invite/*`).
  | 'invite_unknown'
  | 'invite_used'
  | 'invite_expired'
  | 'invite_revoked';

type Req = { req_id?: string };

export type ClientFrame =
  | { type: 'hello'; version: number; token: string; resume?: Pos; device?: string }
  | ({
      type: 'send';
      room: RoomId;
      client_id: string;
      body: string;
      thread?: RoomSeq;
      question?: boolean;
      attachments?: string[];
    } & Req)
  | ({ type: 'edit'; room: RoomId; seq: RoomSeq; body: string } & Req)
  | ({ type: 'delete'; room: RoomId; seq: RoomSeq } & Req)
  | ({ type: 'react'; room: RoomId; seq: RoomSeq; emoji: string; on: boolean } & Req)
  | ({ type: 'mark_answer'; room: RoomId; question: RoomSeq; answer: RoomSeq } & Req)
  | ({ type: 'questions'; sort?: QuestionSort; room?: RoomId } & Req)
  | ({ type: 'vote'; room: RoomId; seq: RoomSeq; on: boolean } & Req)
  | ({ type: 'follow_thread'; room: RoomId; seq: RoomSeq; on: boolean } & Req)
  | ({ type: 'set_room_role'; room: RoomId; user: string; role: RoomRole } & Req)
  | ({ type: 'open_dm'; user: string } & Req)
  | ({ type: 'create_room'; name: string; topic: string; visibility: Visibility } & Req)
  | ({ type: 'update_room'; room: RoomId; name?: string; topic?: string; archived?: boolean } & Req)
  | ({ type: 'join'; room: RoomId } & Req)
  | ({ type: 'leave'; room: RoomId } & Req)
  | ({ type: 'add_member'; room: RoomId; user: string } & Req)
  | ({ type: 'remove_member'; room: RoomId; user: string } & Req)
  | ({ type: 'my_rooms' } & Req)
  | ({ type: 'directory' } & Req)
  | ({ type: 'members'; room: RoomId } & Req)
  | ({ type: 'users' } & Req)
  | ({ type: 'history'; room: RoomId; before?: RoomSeq; after?: RoomSeq; limit?: number } & Req)
  | { type: 'ack_pos'; req_id?: string; pos: Pos }
  | { type: 'broadcast_receipt'; broadcast: string; kind: 'delivered' | 'opened' | 'acknowledged' }
  | ({ type: 'mark_read'; room: RoomId; seq: RoomSeq } & Req)
  | ({ type: 'summary' } & Req)
  | { type: 'typing'; room: RoomId }
  | ({ type: 'online' } & Req)
  | ({ type: 'ping' } & Req)
  | ({ type: 'broadcast'; client_id: string; body: string; rooms: RoomId[]; ack_requested: boolean } & Req)
  | ({ type: 'follow'; user: string; on: boolean } & Req)
  | ({ type: 'reach'; broadcast: string } & Req)
  | ({ type: 'broadcast_remind'; broadcast: string } & Req)
  | ({ type: 'pending_acks' } & Req)
  | ({ type: 'received_broadcasts'; before?: string; limit?: number } & Req)
  | ({ type: 'sent_broadcasts'; before?: string; limit?: number } & Req)
  | ({ type: 'merge_questions'; room: RoomId; questions: RoomSeq[]; into: RoomSeq } & Req)
  | ({ type: 'thread'; room: RoomId; seq: RoomSeq; after?: RoomSeq; limit?: number } & Req)
  | ({ type: 'following' } & Req)
  | ({ type: 'block'; user: string; on: boolean } & Req)
  | ({ type: 'blocked' } & Req)
  | ({ type: 'set_display_name'; display_name: string } & Req)
  | ({ type: 'my_questions' } & Req)
  | ({ type: 'search'; query: string; sort?: 'newest' | 'relevance'; before_cursor?: string; limit?: number } & Req)
  | ({ type: 'set_anonymous_questions'; room?: RoomId; on: boolean } & Req)
  | ({ type: 'anonymous_settings' } & Req)
  | ({ type: 'ask_anonymously'; room: RoomId; body: string } & Req)
  | ({ type: 'my_anonymous_questions' } & Req)
  | ({ type: 'edit_anonymous'; id: string; body: string } & Req)
  | ({ type: 'withdraw_anonymous'; id: string } & Req)
  | ({ type: 'moderation_queue' } & Req)
  | ({ type: 'moderate'; id: string; action: ModerationAction } & Req)
  | ({ type: 'faq_publish'; room: RoomId; seq: RoomSeq; tags: string[] } & Req)
  | ({ type: 'faq_tags'; id: number; tags: string[] } & Req)
  | ({ type: 'faq_unpublish'; id: number } & Req)
  | ({ type: 'faq'; tag?: string; q?: string } & Req)
  | ({ type: 'faq_answer'; room: RoomId; seq: RoomSeq; id: number } & Req)
  | ({ type: 'watch_add'; phrase: string } & Req)
  | ({ type: 'watch_remove'; phrase: string } & Req)
  | ({ type: 'watch_list' } & Req)
  | ({ type: 'watch_alerts'; before?: Pos; limit?: number } & Req)
  | ({ type: 'watch_counts'; weeks?: number } & Req)
  | ({ type: 'pulse'; days?: number } & Req);

/** One search hit (frames.rs `SearchResult`). */
export interface SearchResult {
  room: RoomId;
  seq: RoomSeq;
  author: UserInfo;
  ts: Millis;
  snippet: string;
  /** [start, end) of each matched word in `snippet`, in UTF-16 units. */
  highlights?: [number, number][];
}

export type ServerFrame =
  | {
      type: 'welcome';
      version: number;
      user: UserInfo;
      resume_from: Pos;
      reset?: boolean;
      transformation_team?: boolean;
    }
  | ({ type: 'event' } & ChatEvent)
  | { type: 'caught_up'; pos: Pos }
  | ({
      type: 'ack';
      client_id: string;
      room: RoomId;
      seq: RoomSeq;
      pos: Pos;
      ts: Millis;
      duplicate: boolean;
    } & Req)
  | ({ type: 'error'; code: ErrorCode; message: string } & Req)
  | ({ type: 'room'; room: RoomInfo } & Req)
  | ({ type: 'rooms'; rooms: RoomInfo[] } & Req)
  | ({ type: 'members'; room: RoomId; members: MemberInfo[] } & Req)
  | ({ type: 'users'; users: UserInfo[] } & Req)
  | ({ type: 'history'; room: RoomId; events: ChatEvent[]; has_more: boolean } & Req)
  | ({ type: 'summary'; rooms: RoomSummary[] } & Req)
  | ({
      type: 'questions';
      questions: OpenQuestion[];
      open: number;
      median_answer_ms_7d?: Millis;
      median_answer_ms_30d?: Millis;
    } & Req)
  | { type: 'read_marker'; room: RoomId; seq: RoomSeq }
  | { type: 'question_votes'; room: RoomId; seq: RoomSeq; votes: number }
  | ({ type: 'notice' } & Notice)
  | ({ type: 'ok'; pos: Pos } & Req)
  | { type: 'typing'; room: RoomId; user: UserInfo }
  | { type: 'presence'; user: UserId; online: boolean }
  | ({ type: 'online'; users: UserId[] } & Req)
  | ({ type: 'pong' } & Req)
  | ({ type: 'broadcast_posted'; broadcast: string; audience: number; duplicate: boolean } & Req)
  | ({
      type: 'reach';
      broadcast: string;
      counts: ReachCounts;
      readers: ReachEntry[];
      /** Absent: false. */
      ack_requested?: boolean;
      /** Newest first; absent when none was sent. */
      reminders?: Reminder[];
    } & Req)
  | ({ type: 'broadcast_reminded'; broadcast: string; reminded: number; at: Millis } & Req)
  | ({ type: 'broadcast_reminder' } & BroadcastReminder)
  | { type: 'reach_update'; broadcast: string; counts: ReachCounts }
  | ({ type: 'pending_acks'; broadcasts: PendingAck[] } & Req)
  | ({ type: 'received_broadcasts'; broadcasts: ReceivedBroadcast[]; before?: string } & Req)
  | ({ type: 'sent_broadcasts'; broadcasts: SentBroadcast[]; before?: string } & Req)
  | ({ type: 'thread'; room: RoomId; parent: ChatEvent; replies: ChatEvent[]; has_more: boolean } & Req)
  | ({ type: 'following'; users: UserInfo[] } & Req)
  | ({ type: 'blocked'; users: UserInfo[] } & Req)
  | ({ type: 'user_updated'; user: UserInfo } & Req)
  | ({ type: 'my_questions'; questions: MyQuestion[]; truncated?: boolean } & Req)
  | ({
      type: 'search_results';
      results: SearchResult[];
      more: boolean;
      next_cursor?: string;
      index_lag_ms: number;
    } & Req)
  | ({ type: 'anonymous_settings'; org: boolean; rooms: RoomId[] } & Req)
  | ({ type: 'anonymous_questions'; questions: AnonQuestion[] } & Req)
  | ({ type: 'moderation_queue'; questions: AnonQuestion[] } & Req)
  | { type: 'anonymous_question'; question: AnonQuestion }
  | { type: 'moderation_item'; question: AnonQuestion }
  | ({ type: 'faq_entry'; entry: FaqEntry } & Req)
  | ({ type: 'faq_entries'; entries: FaqEntry[]; tags: FaqTag[] } & Req)
  | ({ type: 'watch_list'; phrases: WatchPhrase[] } & Req)
  | ({ type: 'watch_alerts'; alerts: WatchAlert[]; has_more?: boolean } & Req)
  | { type: 'watch_alert'; alert: WatchAlert }
  | ({ type: 'watch_counts'; weeks: string[]; phrases: WatchCounts[] } & Req)
  | ({ type: 'pulse'; report: PulseReport } & Req);

/** A time to answer as a histogram bucket (pulse.rs `PulseTime`). */
export interface PulseTime {
  bucket: number;
  /** The bucket's upper bound; absent for the last, open bucket. */
  at_most_ms?: number;
}

/** One room's messages per day (pulse.rs `PulseRoom`). */
export interface PulseRoom {
  room: RoomId;
  name: string;
  messages: number[];
}

/** An open question among the most voted (pulse.rs `PulseQuestion`). */
export interface PulseQuestion {
  room: RoomId;
  room_name: string;
  seq: RoomSeq;
  body: string;
  votes: number;
  asked_at: number;
}

/** The Pulse view's numbers (pulse.rs `PulseReport`); per-day lists align with `days`. */
/** One broadcast's reach within 1 h and 24 h of sending (pulse.rs `PulseBroadcast`). */
export interface PulseBroadcast {
  id: string;
  sender: UserInfo;
  sent_at: Millis;
  snippet: string;
  ack_requested: boolean;
  audience: number;
  opened_1h: number;
  opened_24h: number;
  acknowledged_1h: number;
  acknowledged_24h: number;
}

export interface PulseReport {
  days: string[];
  asked: number[];
  answered: number[];
  messages: number[];
  answer_buckets_ms: number[];
  answer_histogram: number[];
  answer_median?: PulseTime;
  answer_p90?: PulseTime;
  answer_mean_ms?: number;
  open_age: number[];
  rooms: PulseRoom[];
  other_rooms: number[];
  top_questions: PulseQuestion[];
  rooms_counted: number;
  /** Reach over time of the latest broadcasts, newest first (absent from older servers). */
  broadcasts?: PulseBroadcast[];
}

/** A published FAQ entry (faq.rs `FaqEntry`); never names the asker. */
export interface FaqEntry {
  id: number;
  question: string;
  answer: string;
  tags: string[];
  published_by: UserInfo;
  published_at: Millis;
  /** The source question, only when I can read its room. */
  room?: RoomId;
  room_name?: string;
  seq?: RoomSeq;
}

/** A tag in use and how many entries carry it (faq.rs `FaqTag`). */
export interface FaqTag {
  tag: string;
  count: number;
}

/** A phrase on the rumour watch list (watch.rs `WatchPhrase`). */
export interface WatchPhrase {
  phrase: string;
  added_by: UserInfo;
  added_at: number;
}

/** A room message that matched the watch list (watch.rs `WatchAlert`). */
export interface WatchAlert {
  pos: Pos;
  room: RoomId;
  room_name: string;
  seq: RoomSeq;
  ts: number;
  sender: UserInfo;
  snippet: string;
  phrases: string[];
  deleted?: boolean;
}

/** One phrase's matches per ISO week, aligned with `weeks`. */
export interface WatchCounts {
  phrase: string;
  counts: number[];
}

/** The sender of every approved anonymous question (protocol `ANONYMOUS`). */
export const ANONYMOUS_ID = '00000000-0000-0000-0000-000000000000';

/** Where an anonymous question stands (anon.rs `AnonStatus`). */
export type AnonStatus =
  | { state: 'pending' }
  | { state: 'approved'; seq: RoomSeq }
  | { state: 'answered'; seq: RoomSeq; answer: RoomSeq }
  | { state: 'rejected'; reason: string }
  | { state: 'merged'; into: RoomSeq }
  | { state: 'withdrawn' };

/** An anonymous question as its asker or the moderation queue sees it: never who asked. */
/** Where one of my questions stands (my_questions.rs). */
export type MyQuestionState = 'open' | 'answered' | 'pending' | 'rejected' | 'merged' | 'withdrawn' | 'deleted';

/** One question I asked, named or anonymous (`my_questions`). */
export interface MyQuestion {
  room: RoomId;
  room_name: string;
  seq?: RoomSeq;
  anon_id?: string;
  anonymous?: boolean;
  body: string;
  asked_at: Millis;
  state: MyQuestionState;
  votes: number;
  answer?: { seq: RoomSeq; sender: UserInfo; body: string; ts: Millis };
  reason?: string;
  merged_into?: RoomSeq;
}

export interface AnonQuestion {
  id: string;
  room: RoomId;
  room_name: string;
  body: string;
  asked_at: Millis;
  edited?: boolean;
  status: AnonStatus;
  mine?: boolean;
}

export type ModerationAction =
  | { kind: 'approve' }
  | { kind: 'reject'; reason: string }
  | { kind: 'merge'; into: RoomSeq };

/** A broadcast's reach against its audience (frames.rs `ReachCounts`). */
export interface ReachCounts {
  audience: number;
  delivered: number;
  opened: number;
  acknowledged: number;
}

/** A reminder sent for a broadcast (reminder.rs `Reminder`). */
export interface Reminder {
  at: Millis;
  reminded: number;
  by: UserInfo;
}

/** A reminder to acknowledge a broadcast (frames.rs `BroadcastReminder`): it names nobody else. */
export interface BroadcastReminder {
  pos: Pos;
  broadcast: string;
  room: RoomId;
  seq: RoomSeq;
  sender: UserInfo;
  by: UserInfo;
  at: Millis;
}

/** At most one reminder per broadcast per hour (the server's `REMINDER_INTERVAL_MS`). */
export const REMINDER_INTERVAL_MS = 60 * 60 * 1000;

/** One reader of a broadcast; 0 = not yet. */
export interface ReachEntry {
  user: UserInfo;
  delivered_at: Millis;
  opened_at: Millis;
  acknowledged_at: Millis;
}

/** A broadcast waiting for my acknowledgement, and where it is shown. */
export interface PendingAck {
  broadcast: string;
  room: RoomId;
  seq: RoomSeq;
  sender: UserInfo;
  body: string;
  ts: Millis;
}

/** A broadcast I sent, with its reach counts; `sent_broadcasts`. `text`
 *  is absent when it was deleted (then `deleted`); cut to 500 characters. */
export interface SentBroadcast {
  broadcast: string;
  sent_at: Millis;
  rooms: { id: string; name: string }[];
  ack_requested: boolean;
  counts: ReachCounts;
  deleted: boolean;
  text?: string;
}

/** A broadcast I received, with my own times (0 = not yet); `received_broadcasts`. */
export interface ReceivedBroadcast extends PendingAck {
  ack_requested: boolean;
  delivered_at: Millis;
  opened_at: Millis;
  acknowledged_at: Millis;
}

/** WebSocket close codes the server uses (frames.rs `close`). */
export const CloseCode = {
  TOO_BIG: 1009,
  GOING_AWAY: 1001,
  AUTH_FAILED: 4001,
  LOGGED_OUT: 4003,
  SLOW_CONSUMER: 4008,
  /** An admin changed my account (role, team): reconnect at once, same token. */
  ACCOUNT_CHANGED: 4009,
} as const;

/** `POST /api/login` reply. */
export interface LoginResponse {
  token: string;
  expires_at: Millis;
  user: UserInfo;
}

/** One entry of `GET /api/admin/audit` (http.rs `AuditEntry`). */
export interface AuditEntry {
  at: Millis;
  actor: UserInfo;
  action: string;
  room?: RoomId;
  target?: UserInfo;
  seq?: RoomSeq;
}

/** Body of every HTTP error. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An open question in the `questions` reply (frames.rs `OpenQuestion`). */
export interface OpenQuestion {
  room: RoomId;
  room_name: string;
  seq: RoomSeq;
  asker: UserInfo;
  body: string;
  asked_at: Millis;
  age_ms: number;
  votes: number;
  voted?: boolean;
  following?: boolean;
}

/** The order of the unanswered queue (frames.rs `QuestionSort`). */
export type QuestionSort = 'age' | 'votes' | 'score';

/** Something happened to a question or thread I follow (frames.rs `ServerFrame::Notice`). */
export interface Notice {
  pos: Pos;
  room: RoomId;
  room_name: string;
  /** The question or the thread's first message. */
  seq: RoomSeq;
  kind: 'answered' | 'reply';
  /** The `answered` event or the reply. */
  event_seq: RoomSeq;
  by: UserInfo;
}

/** The reactions the server accepts (`REACTIONS`), in picker order. */
export const REACTIONS = ['👍', '❤️', '😄', '🎉', '😮', '😢', '🙏', '✅'] as const;

export interface MessageState {
  edited_at?: Millis;
  deleted?: boolean;
  /** At most `REACTORS_LISTED` people per emoji; `reactions_more` counts the rest. */
  reactions?: Record<string, UserId[]>;
  reactions_more?: Record<string, number>;
  answer?: RoomSeq;
  replies?: number;
  edits?: RoomSeq[];
  /** A question merged into this one (its seq). */
  merged_into?: RoomSeq;
  /** A question's votes. */
  votes?: number;
}

/** Events that change another message rather than adding to the timeline. */
export function isChange(c: Content): boolean {
  return (
    c.kind === 'edited' || c.kind === 'deleted' || c.kind === 'reaction' || c.kind === 'answered' || c.kind === 'merged'
  );
}
