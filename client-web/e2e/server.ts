// Runs the real `townhall` binary for browser tests: a fresh data folder per
// server, the freshly built client from dist/ (--static-dir), and helpers that
// talk to it the way an admin and a second client would (HTTP + WebSocket).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { ClientFrame, LoginResponse, ServerFrame, UserInfo } from '../src/protocol';

const here = dirname(fileURLToPath(import.meta.url));
export const CLIENT_DIR = resolve(here, '..');
export const BIN = resolve(CLIENT_DIR, process.env.TOWNHALL_BIN ?? '../target/debug/townhall');
export const DIST = join(CLIENT_DIR, 'dist');
export const SCREENSHOTS = resolve(CLIENT_DIR, '../docs/screenshots');
/** At least 8 characters: the server refuses shorter passwords. */
export const ADMIN_PASSWORD = 'admin-secret-pw';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

export class TownhallServer {
  private proc: ChildProcess | null = null;
  readonly dataDir: string;
  private log = '';
  private adminToken = '';

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'townhall-e2e-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Start a server on a fixed free port (kept across restarts) with a fresh data folder. */
  static async start(extraArgs?: (port: number) => string[]): Promise<TownhallServer> {
    if (!existsSync(BIN)) {
      throw new Error(`townhall binary not found at ${BIN}: run \`cargo build -p townhall-server --bin townhall\` or set TOWNHALL_BIN`);
    }
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('client not built: run `npm run build` first');
    const port = await freePort();
    const s = new TownhallServer(port, extraArgs?.(port) ?? []);
    await s.launch();
    return s;
  }

  /** (Re)start the process on the same port and data folder. */
  async launch(): Promise<void> {
    const proc = spawn(
      BIN,
      [
        'serve',
        '--bind',
        `127.0.0.1:${this.port}`,
        '--data',
        join(this.dataDir, 'db'),
        '--static-dir',
        DIST,
        ...this.extraArgs,
      ],
      {
        env: { ...process.env, TOWNHALL_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.proc = proc;
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`server did not start in 20 s:\n${this.log}`)), 20_000);
      const onData = (d: Buffer) => {
        this.log += d.toString();
        if (this.log.includes('listening on http://')) {
          clearTimeout(timer);
          ok();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`server exited with ${code}:\n${this.log}`));
      });
    });
    proc.removeAllListeners('exit');
  }

  /** Stop the process (SIGTERM, then SIGKILL after 10 s); the data folder stays. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((ok) => {
      const kill = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.once('exit', () => {
        clearTimeout(kill);
        ok();
      });
      p.kill('SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async login(username: string, password: string): Promise<LoginResponse> {
    const res = await fetch(`${this.url}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
    return (await res.json()) as LoginResponse;
  }

  async createUser(
    username: string,
    displayName: string,
    password = `${username}-password`,
    role: 'staff' | 'leader' | 'admin' = 'staff',
  ): Promise<UserInfo> {
    if (!this.adminToken) this.adminToken = (await this.login('admin', ADMIN_PASSWORD)).token;
    const res = await fetch(`${this.url}/api/admin/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.adminToken}` },
      body: JSON.stringify({ username, display_name: displayName, password, role }),
    });
    if (!res.ok) throw new Error(`create user ${username}: ${res.status} ${await res.text()}`);
    return (await res.json()) as UserInfo;
  }

  /** A scripted client (a colleague in another app), logged in over the socket. */
  async client(username: string, password = `${username}-password`): Promise<WsClient> {
    const session = await this.login(username, password);
    return WsClient.connect(`ws://127.0.0.1:${this.port}/ws`, session);
  }
}

type Reply = Exclude<ServerFrame, { type: 'event' | 'caught_up' | 'welcome' }>;

export class WsClient {
  private next = 1;
  private waiting = new Map<string, { ok: (f: ServerFrame) => void; fail: (e: Error) => void }>();
  readonly frames: ServerFrame[] = [];

  private constructor(
    private readonly ws: WebSocket,
    readonly session: LoginResponse,
  ) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(f);
      const id = 'req_id' in f ? f.req_id : undefined;
      const w = id ? this.waiting.get(id) : undefined;
      if (id && w) {
        this.waiting.delete(id);
        if (f.type === 'error') w.fail(new Error(`${f.code}: ${f.message}`));
        else w.ok(f);
      }
    });
  }

  static async connect(url: string, session: LoginResponse): Promise<WsClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const c = new WsClient(ws, session);
    ws.send(JSON.stringify({ type: 'hello', version: 1, token: session.token, device: `e2e-${randomUUID()}` }));
    await c.waitFor((f) => f.type === 'caught_up');
    return c;
  }

  /** Send a frame that has no reply (e.g. `broadcast_receipt`). */
  post(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  request<T extends Reply = Reply>(frame: ClientFrame): Promise<T> {
    const req_id = `q${this.next++}`;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(req_id, { ok: ok as (f: ServerFrame) => void, fail });
      this.ws.send(JSON.stringify({ ...frame, req_id }));
    });
  }

  async waitFor(pred: (f: ServerFrame) => boolean, ms = 10_000): Promise<ServerFrame> {
    const start = Date.now();
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() - start > ms) throw new Error('timed out waiting for a frame');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async createRoom(name: string, visibility: 'public' | 'private' = 'public', topic = ''): Promise<string> {
    const r = await this.request<Extract<ServerFrame, { type: 'room' }>>({ type: 'create_room', name, topic, visibility });
    return r.room.id;
  }

  /** Send a message; a rate-limited send is retried with the same client_id. */
  async send(room: string, body: string): Promise<Extract<ServerFrame, { type: 'ack' }>> {
    const client_id = randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request({ type: 'send', room, client_id, body });
      } catch (e) {
        if (!String(e).includes('rate_limited') || attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /**
   * Send many messages in order of completion, with a bounded number in
   * flight (acks come after fsync). The server allows 50 requests/s per
   * connection with bursts of 200: use several clients to seed faster.
   */
  async sendMany(room: string, bodies: string[], inFlight = 16): Promise<void> {
    let i = 0;
    const worker = async () => {
      while (i < bodies.length) {
        const b = bodies[i++]!;
        await this.send(room, b);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }

  close(): void {
    this.ws.close();
  }
}
