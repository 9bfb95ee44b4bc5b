// The WebSocket link to the server: one socket at a time, `hello` first,
// reconnect with exponential backoff and full jitter, requests matched to
// replies by `req_id`, and a heartbeat that notices a dead link. It knows the
// protocol's framing but nothing of rooms or messages: the store does.

import {
  CloseCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type ErrorCode,
  type Pos,
  type ServerFrame,
} from './protocol';
import { PartJoiner } from './parts';

export type ConnState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** The part of the browser WebSocket the connection uses (tests pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface ConnectionOptions {
  url: string;
  token: string;
  device: string;
  /** The last processed `pos`, read at every (re)connect. */
  resume: () => Pos | undefined;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: ConnState) => void;
  /** After `welcome`: the link is ready for requests. */
  onReady: () => void;
  /** The token is no longer good (expired, revoked, logged out elsewhere). */
  onAuthLost: (why: string) => void;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
}

export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode | 'disconnected' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** First retry after about half a second: a server restart is usually that quick. */
const BACKOFF_BASE_MS = 500;
/** Never wait more than 10 s between attempts: people are watching the badge. */
const BACKOFF_CAP_MS = 10_000;
/** A quiet link is checked with a ping this often... */
const HEARTBEAT_MS = 25_000;
/** ...and dropped if nothing at all comes back this fast. */
const HEARTBEAT_TIMEOUT_MS = 10_000;
/** A request with no reply in this time fails; the UI offers to try again. */
const REQUEST_TIMEOUT_MS = 20_000;

interface Pending {
  resolve: (f: ServerFrame) => void;
  reject: (e: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** What the timer does; restarted while a reply's parts keep arriving. */
  expire: () => void;
}

export class Connection {
  private socket: SocketLike | null = null;
  private ready = false;
  private stopped = true;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private nextReq = 1;
  private pending = new Map<string, Pending>();
  /** Request ids sent on the current socket. */
  private onWire = new Set<string>();
  /** Replies whose parts (`more: true`) are still arriving. */
  private parts = new PartJoiner();
  /** Requests waiting for the link to be ready. */
  private waiters: Array<() => void> = [];
  private state: ConnState = 'connecting';
  private readonly onOnline = () => this.reconnectNow();
  private readonly onOffline = () => {
    if (!this.ready) this.setState('offline');
  };

  constructor(private readonly opts: ConnectionOptions) {}

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    globalThis.addEventListener?.('online', this.onOnline);
    globalThis.addEventListener?.('offline', this.onOffline);
    this.open();
  }

  /** Close for good (logout, session end). */
  stop(): void {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this.onOnline);
    globalThis.removeEventListener?.('offline', this.onOffline);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopHeartbeat();
    const s = this.socket;
    this.socket = null;
    this.ready = false;
    if (s) {
      s.onclose = s.onmessage = s.onerror = s.onopen = null;
      try {
        s.close(1000, 'bye');
      } catch {
        // already closed
      }
    }
    this.failPending('disconnected', 'logged out', true);
    this.waiters = [];
  }

  /** Send a frame if the link is ready; false means it was not sent. */
  send(frame: ClientFrame): boolean {
    if (!this.ready || !this.socket) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  newReqId(prefix = 'r'): string {
    return `${prefix}${this.nextReq++}`;
  }

  /**
   * Send a request and wait for its reply (or its `error`, as a RequestError).
   * Waits for the link when it is down, up to the request timeout.
   */
  request<T extends ServerFrame = ServerFrame>(frame: ClientFrame & { req_id?: string }): Promise<T> {
    const req_id = frame.req_id ?? this.newReqId();
    const withId = { ...frame, req_id } as ClientFrame;
    return new Promise<T>((resolve, reject) => {
      const expire = () => {
        this.pending.delete(req_id);
        reject(new RequestError('timeout', 'The server did not answer in time.'));
      };
      this.pending.set(req_id, {
        resolve: resolve as (f: ServerFrame) => void,
        reject,
        timer: setTimeout(expire, REQUEST_TIMEOUT_MS),
        expire,
      });
      const go = () => {
        if (!this.pending.has(req_id)) return;
        if (this.send(withId)) this.onWire.add(req_id);
        else this.waiters.push(go);
      };
      go();
    });
  }

  /** Skip the backoff wait (the browser came back online, or the user asked). */
  reconnectNow(): void {
    if (this.stopped || this.ready) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.open();
    }
  }

  private setState(s: ConnState): void {
    if (this.state === s) return;
    this.state = s;
    this.opts.onState(s);
  }

  private open(): void {
    if (this.stopped) return;
    this.retryTimer = null;
    let socket: SocketLike;
    try {
      socket = (this.opts.createSocket ?? defaultSocket)(this.opts.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const resume = this.opts.resume();
      const hello: ClientFrame = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        token: this.opts.token,
        device: this.opts.device,
        ...(resume !== undefined && resume > 0 ? { resume } : {}),
      };
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (ev) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      // A reply too large for one frame comes in parts: join them first.
      const whole = this.parts.add(frame);
      if (whole) this.handle(whole);
      else this.stillAnswering(frame);
    };
    socket.onerror = () => {
      // onclose follows and does the work.
    };
    socket.onclose = (ev) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.ready = false;
      this.parts.clear();
      this.stopHeartbeat();
      this.failPending('disconnected', 'The connection was lost.');
      if (ev.code === CloseCode.LOGGED_OUT || ev.code === CloseCode.AUTH_FAILED) {
        this.stopped = true;
        this.opts.onAuthLost(ev.code === CloseCode.LOGGED_OUT ? 'logged_out' : 'auth_failed');
        return;
      }
      // My account changed: nothing is wrong, so no backoff; the next
      // welcome carries the new role and team flag.
      if (ev.code === CloseCode.ACCOUNT_CHANGED) this.attempt = 0;
      this.scheduleRetry();
    };
  }

  /**
   * A part of a long reply arrived: the server is answering, so the request's
   * timeout starts again (a reply of many parts on a slow link may take
   * longer than one timeout in all).
   */
  private stillAnswering(frame: ServerFrame): void {
    const reqId = 'req_id' in frame ? frame.req_id : undefined;
    const p = reqId === undefined ? undefined : this.pending.get(reqId);
    if (!p) return;
    clearTimeout(p.timer);
    p.timer = setTimeout(p.expire, REQUEST_TIMEOUT_MS);
  }

  private handle(frame: ServerFrame): void {
    if (frame.type === 'welcome') {
      this.ready = true;
      this.attempt = 0;
      this.setState('connected');
      this.startHeartbeat();
      this.opts.onReady();
      const w = this.waiters;
      this.waiters = [];
      for (const go of w) go();
    } else if (frame.type === 'error' && !this.ready && isAuthError(frame.code)) {
      // The hello was refused: retrying with the same token cannot help.
      this.stop();
      this.opts.onAuthLost(frame.code);
      return;
    }
    const reqId = 'req_id' in frame ? frame.req_id : undefined;
    if (reqId !== undefined) {
      const p = this.pending.get(reqId);
      if (p) {
        this.pending.delete(reqId);
        this.onWire.delete(reqId);
        clearTimeout(p.timer);
        if (frame.type === 'error') p.reject(new RequestError(frame.code, frame.message));
        else p.resolve(frame);
      }
    }
    this.opts.onFrame(frame);
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const offline = globalThis.navigator?.onLine === false;
    this.setState(offline ? 'offline' : 'reconnecting');
    const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    // Full jitter within the upper half keeps a crowd of clients that lost the
    // same server from coming back in lockstep.
    const delay = exp / 2 + (this.opts.random ?? Math.random)() * (exp / 2);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.lastHeard = Date.now();
    this.heartbeatTimer = setInterval(() => {
      const quiet = Date.now() - this.lastHeard;
      if (quiet >= HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS) {
        // Nothing came back from the ping: the link is dead though the OS
        // has not noticed yet. Dropping it starts the reconnect.
        const s = this.socket;
        if (s) {
          s.onclose?.({ code: 4000, reason: 'heartbeat timeout' });
          try {
            s.close();
          } catch {
            // already closing
          }
        }
      } else if (quiet >= HEARTBEAT_MS) {
        this.send({ type: 'ping' });
      }
    }, 5_000);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /**
   * Fail the requests that were on the wire when the link dropped (their reply
   * is lost); with `all`, also those still waiting for a link.
   */
  private failPending(code: 'disconnected', message: string, all = false): void {
    for (const [id, p] of this.pending) {
      if (!all && !this.onWire.has(id)) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new RequestError(code, message));
    }
    this.onWire.clear();
  }
}

function isAuthError(code: ErrorCode): boolean {
  return code === 'bad_token' || code === 'not_authenticated' || code === 'auth_timeout';
}

function defaultSocket(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike;
}

/** `ws(s)://<this host>/ws`, so the client works behind any host name. */
export function defaultWsUrl(): string {
  const l = globalThis.location;
  const scheme = l.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${l.host}/ws`;
}
