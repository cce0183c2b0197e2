// The live room's connection (protocol: docs/live-protocol.md), shared by the attendees' room
// page (room.js) and the staff console. It joins, keeps the connection alive (pings), comes
// back by itself with jittered exponential backoff, and resyncs from the last frame seen
// (`epoch` and `last_seq` added to the join payload on every rejoin). It knows nothing of the
// page: what happens is told to `handlers`.
//
//   const client = new LiveClient({
//     url,                      // "ws(s)://host/ws/room/<session_id>/"
//     join: () => ({...}),      // the "join" payload (join_key, device…), asked at each join
//     handlers: {
//       joined(reply),          // join accepted (after status "connected"): the reply
//                               // (role, epoch, seq, resynced, snapshot, settings…)
//       frame(events, {epoch, seq}),  // a numbered room frame, never twice, in order
//       backstage(events),      // speakers' and staff's pushes
//       status(state, detail),  // "connecting" | "connected" | "reconnecting" | "closed";
//                               // reconnecting: {retryIn (ms), lost (a joined connection
//                               // was lost), code (the join refusal, if one)}; closed: {code?}
//       error(code, message, data),  // a join refusal. Return false to stop, a number of ms
//                               // to knock again after that long, or nothing for the default:
//                               // stop on room.closed, join.*, speaker.*, permission.*;
//                               // otherwise retry with the backoff (at least `retry_after`
//                               // seconds when the refusal gives one: `rate_limited`).
//     },
//     strings,                  // optional: messages of the errors made here, by code
//                               // ("connection.lost", "request.timeout"), flat or in
//                               // `strings.errors`; the code itself otherwise
//   });
//   client.start();
//   client.call("chat.send", {text}).then((data) => …, ({code, message, ...data}) => …);
//   client.stop();              // for good: closes, no more retries, status "closed"

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const JITTER = 0.3; // ± 30 %
const STABLE_MS = 10000; // joined this long: the next loss starts the backoff again at 1 s
const PING_EVERY_MS = 25000;
const PING_TIMEOUT_MS = 10000;
const REPLY_TIMEOUT_MS = 15000; // a request never answered (e.g. a frame the server could not read)
const MAX_DELAY_MS = 6 * 3600 * 1000; // setTimeout overflows past 24.8 days
const CLOSE_REVOKED = 4403; // put out of the room: a right withdrawn (docs/live-protocol.md)

/** Milliseconds before reconnection attempt `attempt` (0, 1, 2…): 1 s × 2^attempt ± 30 %,
 * at most 30 s. `random` returns a number in [0, 1). */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(Math.min(BACKOFF_MAX_MS, base * (1 + (random() * 2 - 1) * JITTER)));
}

/** Join refusals after which knocking again cannot help. */
function final(code) {
  return code === "room.closed" || /^(join|speaker|permission)\./.test(code);
}

export class LiveClient {
  constructor({ url, join, handlers = {}, strings = {} }) {
    this.url = url;
    this.joinPayload = join || (() => ({}));
    this.handlers = handlers;
    this.strings = strings || {};
    this.socket = null;
    this.isJoined = false;
    this.stopped = true;
    this.joinedAt = 0;
    this.attempt = 0; // reconnection attempts since the last stable connection
    this.epoch = "";
    this.lastSeq = 0;
    this.nextId = 1;
    this.pending = new Map(); // request_id -> (kind, data) => void
    this.timers = { retry: 0, ping: 0, pingDeadline: 0 };
    this.onOnline = () => {
      // The network is back: now, not in 30 s.
      if (!this.stopped && !this.socket) this.connect();
    };
  }

  /** Whether the room accepted us on the current connection. */
  get joined() {
    return this.isJoined;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.halt({});
  }

  /** Send `action`; resolves with the success data, rejects with `{code, message, ...data}`. */
  call(action, payload = {}) {
    return new Promise((resolve, reject) => {
      this.request(action, payload, (kind, data) => {
        if (kind === "success") resolve(data ?? {});
        else reject({ ...(data || {}), code: data?.code || "server.error", message: data?.message || this.message(data?.code) });
      });
    });
  }

  // --- Inside -------------------------------------------------------------------------------

  emit(name, ...args) {
    const handler = this.handlers[name];
    return typeof handler === "function" ? handler(...args) : undefined;
  }

  message(code) {
    const strings = this.strings;
    return (strings.errors && strings.errors[code]) || strings[code] || code || "";
  }

  localError(code) {
    return { code, message: this.message(code) };
  }

  status(state, detail = {}) {
    this.emit("status", state, detail);
  }

  halt(detail) {
    const wasRunning = !this.stopped;
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.clearTimeout(this.timers.retry);
    this.drop();
    if (wasRunning) this.status("closed", detail);
  }

  connect() {
    window.clearTimeout(this.timers.retry);
    if (this.stopped || this.socket) return;
    this.status("connecting");
    const ws = new WebSocket(this.url);
    this.socket = ws;
    ws.onopen = () => this.sendJoin(ws);
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.lost(false, event.code);
  }

  sendJoin(ws) {
    const payload = { ...this.joinPayload() };
    if (this.epoch) Object.assign(payload, { epoch: this.epoch, last_seq: this.lastSeq });
    this.request("join", payload, (kind, data) => {
      if (this.socket !== ws) return; // this connection was lost meanwhile: `lost` took over
      if (kind === "success") this.joinedOk(data || {});
      else this.joinRefused(data || {});
    });
  }

  joinedOk(reply) {
    this.isJoined = true;
    this.joinedAt = Date.now();
    if (!reply.resynced) {
      // A fresh view of the room: missed frames could not be replayed.
      this.epoch = reply.epoch;
      this.lastSeq = reply.seq;
    } // else: exactly the missed frames follow this reply.
    this.status("connected");
    this.ping();
    this.emit("joined", reply);
  }

  joinRefused(error) {
    const code = error.code || "";
    const { code: _code, message = "", ...data } = error;
    const decided = this.emit("error", code, message, data);
    if (this.stopped) return; // the handler stopped us
    if (decided === false || (decided === undefined && final(code))) {
      this.halt({ code });
      return;
    }
    this.drop();
    if (typeof decided === "number" && Number.isFinite(decided)) this.retryIn(Math.max(0, decided), { code });
    else {
      // `rate_limited` says when knocking again can succeed (`retry_after`, seconds).
      const wait = Number.isFinite(data.retry_after) ? data.retry_after * 1000 : 0;
      this.retryIn(Math.max(wait, backoffDelay(this.attempt++)), { code });
    }
  }

  /** `[action, id, payload]` out; `done(kind, data)` with the reply, or with an error made
   * here (`connection.lost`, `request.timeout`). */
  request(action, payload, done) {
    const id = this.nextId++;
    const ws = this.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      done("error", this.localError("connection.lost"));
      return;
    }
    const timeout = window.setTimeout(() => {
      this.pending.delete(id);
      done("error", this.localError("request.timeout"));
    }, REPLY_TIMEOUT_MS);
    this.pending.set(id, (kind, data) => {
      window.clearTimeout(timeout);
      done(kind, data);
    });
    ws.send(JSON.stringify([action, id, payload]));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(message)) return;
    const [kind] = message;
    if (kind === "success" || kind === "error") {
      const done = this.pending.get(message[1]);
      if (done) {
        this.pending.delete(message[1]);
        done(kind, message[2]);
      }
    } else if (kind === "frame") {
      const frame = message[1] || {};
      if (frame.epoch === this.epoch && frame.seq <= this.lastSeq) return; // seen already
      this.epoch = frame.epoch;
      this.lastSeq = frame.seq;
      this.emit("frame", frame.events || [], { epoch: frame.epoch, seq: frame.seq });
    } else if (kind === "backstage") {
      this.emit("backstage", (message[1] || {}).events || []);
    }
  }

  ping() {
    window.clearTimeout(this.timers.ping);
    this.timers.ping = window.setTimeout(() => {
      if (!this.isJoined) return;
      const ws = this.socket;
      this.timers.pingDeadline = window.setTimeout(() => {
        if (this.socket === ws) this.lost(true);
      }, PING_TIMEOUT_MS);
      this.request("ping", {}, () => {
        window.clearTimeout(this.timers.pingDeadline);
        if (this.isJoined && this.socket === ws) this.ping();
      });
    }, PING_EVERY_MS);
  }

  /** Forget the current socket (closing it if need be) without reacting to its close. */
  drop() {
    const ws = this.socket;
    this.socket = null;
    this.isJoined = false;
    window.clearTimeout(this.timers.ping);
    window.clearTimeout(this.timers.pingDeadline);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const done of waiting) done("error", this.localError("connection.lost"));
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
    }
  }

  /** The connection closed (or stopped answering pings): try again after the backoff. */
  lost(unanswered, code = 0) {
    const wasJoined = this.isJoined || unanswered;
    if (wasJoined && Date.now() - this.joinedAt > STABLE_MS) this.attempt = 0;
    this.drop();
    if (this.stopped) return;
    // Put out of the room: join again now, to be told why (or to stay with the rights left).
    const delay = code === CLOSE_REVOKED ? 0 : backoffDelay(this.attempt++);
    this.retryIn(delay, { lost: wasJoined });
  }

  retryIn(delay, detail) {
    const wait = Math.min(delay, MAX_DELAY_MS);
    window.clearTimeout(this.timers.retry);
    this.timers.retry = window.setTimeout(() => this.connect(), wait);
    this.status("reconnecting", { retryIn: wait, ...detail });
  }
}
