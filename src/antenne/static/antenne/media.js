// The stage's media in the browser, for the attendee's room and the console alike: publish a
// camera or a screen, watch the feeds on stage, show them in tiles (grid, or speaker +
// screen), highlight who speaks, and tell how good the connection is.
//
// The browser only talks to Antenne (antenne/media/views.py): an SDP offer or answer over
// HTTP, authorised by the media token of the room connection; the stage's feeds come as
// `media.feeds` pushes over the room WebSocket. Whatever the engine (embedded or Janus),
// this file is the same. No trickle ICE: offers and answers carry their candidates.

const GATHER_TIMEOUT_MS = 4000;
const STATS_EVERY_MS = 2000;
const SPEAKING_LEVEL = 0.03;

function waitForCandidates(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    window.setTimeout(resolve, GATHER_TIMEOUT_MS); // host candidates are enough to start
  });
}

export class MediaError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

/** The HTTP side: publish, mute, unpublish, subscribe — with the connection's token. */
export class MediaSession {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.config = null; // {token, ice_servers, max_streams, engine}
    this.publishers = new Map(); // source -> {pc, feedId, stream}
    this.viewer = null; // {pc, id, streams}
  }

  /** Each room join gives a new token (it names the connection). */
  setConfig(media) {
    this.config = media || null;
  }

  get ready() {
    return Boolean(this.config && this.config.token);
  }

  async request(method, path, body, type) {
    if (!this.ready) throw new MediaError("media.no_token");
    const headers = { Authorization: `Bearer ${this.config.token}` };
    if (type) headers["Content-Type"] = type;
    let response;
    try {
      response = await fetch(`/media/sessions/${this.sessionId}${path}`, {
        method, headers, body, credentials: "omit", cache: "no-store",
      });
    } catch {
      throw new MediaError("media.network");
    }
    if (!response.ok) {
      let data = {};
      try { data = await response.json(); } catch { /* not JSON */ }
      throw new MediaError(data.code || `http.${response.status}`, data.message);
    }
    return response;
  }

  newPeerConnection() {
    return new RTCPeerConnection({ iceServers: (this.config && this.config.ice_servers) || [] });
  }

  /** Send `stream`'s tracks as the feed of `source` ("camera" or "screen"); replaces this
   * connection's previous feed from that source. */
  async publish(stream, source) {
    await this.unpublish(source, { quiet: true });
    const pc = this.newPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForCandidates(pc);
      const response = await this.request("POST", `/feeds?source=${source}`, pc.localDescription.sdp, "application/sdp");
      const feedId = Number(response.headers.get("X-Antenne-Feed"));
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      this.publishers.set(source, { pc, feedId, stream });
      return feedId;
    } catch (error) {
      pc.close();
      throw error;
    }
  }

  async unpublish(source, { quiet = false } = {}) {
    const publisher = this.publishers.get(source);
    if (!publisher) return;
    this.publishers.delete(source);
    publisher.pc.close();
    try {
      await this.request("DELETE", `/feeds/${publisher.feedId}`);
    } catch (error) {
      if (!quiet && error.code !== "media.no_such_feed") throw error;
    }
  }

  /** Say the microphone or camera of one's feed is off (the browser stops sending it). */
  async announceMuted(source, changes) {
    const publisher = this.publishers.get(source);
    if (!publisher) return null;
    const response = await this.request("PATCH", `/feeds/${publisher.feedId}`, JSON.stringify(changes), "application/json");
    return response.json();
  }

  /** Staff: mute someone else's feed for everyone (the server stops forwarding it). */
  async moderate(feedId, changes) {
    const response = await this.request("PATCH", `/feeds/${feedId}`, JSON.stringify(changes), "application/json");
    return response.json();
  }

  /** Receive `feedIds`; `onTrack(feedId, track)` for each track. A new call replaces the
   * previous subscription once the new one is set up (no black gap on stage changes).
   * Returns the feeds the subscription carries: one that has just started may not be
   * ready at the engine yet (the caller asks again a moment later). */
  async watch(feedIds, onTrack) {
    const previous = this.viewer;
    if (!feedIds.length) {
      this.viewer = null;
      this.closeViewer(previous);
      return [];
    }
    const response = await this.request("POST", "/subscriptions", JSON.stringify({ feeds: feedIds }), "application/json");
    const data = await response.json();
    if (!data.id) return []; // not ready at the engine yet: the caller asks again
    const byMid = new Map();
    for (const [feedId, pairs] of Object.entries(data.streams || {})) {
      for (const [mid] of pairs) byMid.set(String(mid), Number(feedId));
    }
    const pc = this.newPeerConnection();
    pc.addEventListener("track", (event) => {
      const feedId = byMid.get(String(event.transceiver.mid));
      if (feedId !== undefined) onTrack(feedId, event.track);
    });
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitForCandidates(pc);
      await this.request("PATCH", `/subscriptions/${encodeURIComponent(data.id)}`, pc.localDescription.sdp, "application/sdp");
    } catch (error) {
      pc.close();
      throw error;
    }
    this.viewer = { pc, id: data.id, byMid };
    this.closeViewer(previous);
    return Object.keys(data.streams || {}).map(Number);
  }

  closeViewer(viewer) {
    if (!viewer) return;
    viewer.pc.close();
    this.request("DELETE", `/subscriptions/${encodeURIComponent(viewer.id)}`).catch(() => {});
  }

  /** Everything stops (the session ended, the page leaves, the person left the stage). */
  async stopAll() {
    for (const source of [...this.publishers.keys()]) await this.unpublish(source, { quiet: true });
    const viewer = this.viewer;
    this.viewer = null;
    this.closeViewer(viewer);
  }

  /** Every peer connection, for stats. */
  connections() {
    const list = [...this.publishers.values()].map((p) => p.pc);
    if (this.viewer) list.push(this.viewer.pc);
    return list;
  }
}

const RETRY_MS = 1000;
const MAX_RETRIES = 20;

/** Keeps a page subscribed to the feeds `feedIds()` names (the page's own feeds left out):
 * one subscription request at a time, a change while busy waits its turn, and a feed not
 * ready at the engine yet (a publisher still connecting) is asked for again shortly. */
export class StageWatcher {
  constructor(session, view, feedIds, onError) {
    this.session = session;
    this.view = view;
    this.feedIds = feedIds;
    this.onError = onError;
    this.watching = ""; // the feed ids of the current subscription, joined
    this.pending = Promise.resolve();
    this.retries = 0;
    this.retryTimer = 0;
  }

  /** The feeds may have changed: subscribe again if they did. */
  update() {
    this.pending = this.pending.then(async () => {
      const mine = new Set([...this.session.publishers.values()].map((p) => p.feedId));
      const wanted = this.feedIds().filter((id) => !mine.has(id));
      const key = wanted.join(",");
      if (key === this.watching || !this.session.ready) return;
      try {
        const carried = await this.session.watch(wanted, (feedId, track) => this.view.addTrack(feedId, track));
        this.watching = carried.length < wanted.length ? "" : key;
        if (this.watching) this.retries = 0;
        else this.retrySoon();
      } catch (error) {
        this.watching = "";
        this.onError(error);
      }
    });
  }

  retrySoon() {
    if (this.retryTimer || this.retries >= MAX_RETRIES) return;
    this.retries += 1;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = 0;
      this.update();
    }, RETRY_MS);
  }

  /** A new room connection: its subscriptions start again. */
  restart() {
    this.watching = "";
  }

  /** Everything this page sends and receives stops (the stage closed for it). */
  stop() {
    this.pending = this.pending.then(() => this.session.stopAll()).then(() => { this.watching = ""; });
  }
}

/** Every few seconds while running: the connection-quality `badge` (texts `labels`) and the
 * highlight of who speaks on the stage. */
export function qualityLoop(session, view, badge, labels) {
  let running = false;
  let timer = 0;
  let previous = {};

  async function tick() {
    const result = await connectionQuality(session.connections(), previous).catch(() => null);
    if (result && running) {
      previous = result;
      badge.hidden = !result.level;
      badge.dataset.quality = result.level;
      badge.textContent = result.level ? labels[result.level] : "";
    }
    await view.highlightSpeaker(session.viewer).catch(() => {});
    if (running) timer = window.setTimeout(tick, STATS_EVERY_MS);
  }

  return {
    start() {
      if (running) return;
      running = true;
      timer = window.setTimeout(tick, STATS_EVERY_MS);
    },
    stop() {
      running = false;
      window.clearTimeout(timer);
      badge.hidden = true;
    },
  };
}

/** How good the connection is, from round-trip time and packet loss: good | fair | poor,
 * or "" when nothing flows. */
export async function connectionQuality(pcs, previous = {}) {
  let rtt = 0;
  let lost = 0;
  let received = 0;
  for (const pc of pcs) {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime) rtt = Math.max(rtt, s.currentRoundTripTime);
      if (s.type === "inbound-rtp") {
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
      }
      if (s.type === "remote-inbound-rtp") {
        if (s.roundTripTime) rtt = Math.max(rtt, s.roundTripTime);
        lost += s.packetsLost || 0;
      }
    });
  }
  const dLost = lost - (previous.lost || 0);
  const dReceived = received - (previous.received || 0);
  const loss = dReceived + dLost > 0 ? dLost / (dReceived + dLost) : 0;
  const level = !pcs.length ? "" : rtt > 0.6 || loss > 0.08 ? "poor" : rtt > 0.3 || loss > 0.02 ? "fair" : "good";
  return { level, rtt, loss, lost, received };
}

/** The stage's tiles in `container`: one per feed, its name, its state (microphone off,
 * speaking). Layout "grid" or "speaker" (a shared screen, or the first feed, large). */
export class StageView {
  constructor(container, strings) {
    this.container = container;
    this.strings = strings;
    this.tiles = new Map(); // feedId -> {figure, video, stream, feed}
    this.layout = "grid";
    this.needsSound = false;
    this.onSoundBlocked = null;
  }

  setLayout(layout) {
    this.layout = layout === "speaker" ? "speaker" : "grid";
    this.container.dataset.layout = this.layout;
    this.arrange();
  }

  /** The feeds on stage now (from `media.feeds`): tiles come and go. */
  setFeeds(feeds, { localFeeds = new Map() } = {}) {
    const ids = new Set(feeds.map((f) => f.id));
    for (const [id, tile] of this.tiles) {
      if (!ids.has(id)) {
        tile.figure.remove();
        this.tiles.delete(id);
      }
    }
    for (const feed of feeds) {
      let tile = this.tiles.get(feed.id);
      if (!tile) {
        tile = this.createTile(feed);
        this.tiles.set(feed.id, tile);
        this.container.append(tile.figure);
      }
      tile.feed = feed;
      const local = localFeeds.get(feed.id);
      if (local && tile.video.srcObject !== local) {
        // One's own feed: the local preview, muted (no echo), not the server's copy.
        tile.video.srcObject = local;
        tile.video.muted = true;
        tile.local = true;
      }
      this.label(tile);
    }
    this.container.hidden = feeds.length === 0;
    this.arrange();
  }

  createTile(feed) {
    const figure = document.createElement("figure");
    figure.className = "antenne-tile";
    figure.dataset.feed = String(feed.id);
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    const caption = document.createElement("figcaption");
    caption.className = "antenne-tile__caption";
    const name = document.createElement("span");
    name.className = "antenne-tile__name";
    const state = document.createElement("span");
    state.className = "antenne-tile__state";
    caption.append(name, state);
    figure.append(video, caption);
    return { figure, video, caption, name, state, stream: new MediaStream(), feed, local: false };
  }

  label(tile) {
    const { feed, strings } = { feed: tile.feed, strings: this.strings };
    tile.name.textContent = feed.source === "screen" ? `${feed.name} — ${strings.screen}` : feed.name;
    const off = [];
    if (feed.audio_muted) off.push(strings.mic_off);
    if (feed.video_muted) off.push(strings.camera_off);
    tile.state.textContent = off.join(" · ");
    tile.figure.dataset.source = feed.source;
    tile.figure.classList.toggle("antenne-tile--no-video", Boolean(feed.video_muted));
    tile.video.setAttribute("aria-label", tile.name.textContent);
  }

  /** A track received from the server for `feedId`. */
  addTrack(feedId, track) {
    const tile = this.tiles.get(feedId);
    if (!tile || tile.local) return;
    for (const old of tile.stream.getTracks()) {
      if (old.kind === track.kind) tile.stream.removeTrack(old);
    }
    tile.stream.addTrack(track);
    if (tile.video.srcObject !== tile.stream) tile.video.srcObject = tile.stream;
    this.play(tile);
  }

  play(tile) {
    tile.video.play().catch(() => {
      // Sound needs a click first in most browsers: play without it, and ask.
      tile.video.muted = true;
      tile.video.play().catch(() => {});
      if (!this.needsSound) {
        this.needsSound = true;
        if (this.onSoundBlocked) this.onSoundBlocked();
      }
    });
  }

  /** After the person's click: sound on for every tile received from the server. */
  enableSound() {
    this.needsSound = false;
    for (const tile of this.tiles.values()) {
      if (!tile.local) {
        tile.video.muted = false;
        tile.video.play().catch(() => {});
      }
    }
  }

  arrange() {
    const tiles = [...this.tiles.values()];
    const main = this.layout === "speaker"
      ? tiles.find((t) => t.feed.source === "screen") || tiles.find((t) => t.figure.classList.contains("antenne-tile--speaking")) || tiles[0]
      : null;
    for (const tile of tiles) tile.figure.classList.toggle("antenne-tile--main", tile === main);
    this.container.style.setProperty("--tiles", String(Math.max(1, tiles.length)));
  }

  /** Highlight the loudest feed above a threshold, from the receiving connection's stats. */
  async highlightSpeaker(viewer) {
    if (!viewer) return;
    const report = await viewer.pc.getStats();
    let loudest = null;
    let level = SPEAKING_LEVEL;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio" && (s.audioLevel || 0) > level) {
        level = s.audioLevel;
        loudest = viewer.byMid.get(String(s.mid));
      }
    });
    for (const [id, tile] of this.tiles) tile.figure.classList.toggle("antenne-tile--speaking", id === loudest);
    if (this.layout === "speaker") this.arrange();
  }

  clear() {
    for (const tile of this.tiles.values()) tile.figure.remove();
    this.tiles.clear();
    this.container.hidden = true;
  }
}

