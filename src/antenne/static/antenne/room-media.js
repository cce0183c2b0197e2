// The stage in the attendee's room (templates/public/room/_stage.html): once the broadcast is
// live, receive every feed on stage and play it — no camera or microphone permission is
// asked for watching. An attendee invited on stage who accepts gets their camera and
// microphone published — the stream they checked in the invitation, if they did
// (room-devices.js) — and the buttons to switch them or leave; taken off the stage, their
// stream stops. Nothing is published before they accept.

import { MediaSession, StageView, StageWatcher, qualityLoop } from "./media.js";
import { errorText } from "./ui.js";

export function setupMedia(ctx, sessionId) {
  const { $, strings } = ctx;
  const s = strings.media;
  const session = new MediaSession(sessionId);
  const view = new StageView($("room-stage-tiles"), s);
  const empty = $("room-stage-empty");
  const soundButton = $("room-stage-sound");
  const layout = $("room-stage-layout");
  const self = $("room-stage-self");
  const micButton = $("room-stage-mic");
  const camButton = $("room-stage-camera");
  const leaveButton = $("room-stage-leave");
  const selfError = $("room-stage-self-error");
  let feeds = [];
  let live = false;
  let onStage = false;
  let local = null; // this attendee's own camera stream while on stage
  const watcher = new StageWatcher(session, view, () => (live ? feeds.map((f) => f.id) : []),
    (error) => ctx.announce(errorText(strings, error)));
  const quality = qualityLoop(session, view, $("room-stage-quality"), s.quality);

  view.onSoundBlocked = () => { soundButton.hidden = false; };
  soundButton.addEventListener("click", () => {
    view.enableSound();
    soundButton.hidden = true;
  });
  layout.addEventListener("change", () => view.setLayout(layout.value));

  function localFeeds() {
    const map = new Map();
    const mine = session.publishers.get("camera");
    if (mine && local) map.set(mine.feedId, local);
    return map;
  }

  function render() {
    const shown = live ? feeds : [];
    view.setFeeds(shown, { localFeeds: localFeeds() });
    empty.hidden = shown.length > 0;
    empty.querySelector("p").textContent = live ? s.nobody_on_stage : s.not_started;
  }

  function joined(reply) {
    session.setConfig(reply.media);
    watcher.restart(); // a new connection: its subscriptions start again
    if (!reply.resynced && reply.snapshot) feeds = reply.snapshot.feeds || [];
    // A page opened while the broadcast is live starts in the live phase: no change of
    // phase will tell this part, so it starts watching here.
    if (ctx.isLive() && !live) phaseChanged(true);
    render();
    watcher.update();
  }

  function event(name, data) {
    if (name !== "media.feeds") return;
    feeds = data.feeds || [];
    render();
    watcher.update();
  }

  function phaseChanged(isLive) {
    live = isLive;
    render();
    if (isLive) {
      watcher.update();
      quality.start();
      if (onStage && !local) goOnStage();
    } else {
      quality.stop();
      stopPublishing();
      watcher.stop();
    }
  }

  // --- On stage --------------------------------------------------------------------------------

  async function goOnStage() {
    selfError.hidden = true;
    try {
      local = (ctx.takePreview && await ctx.takePreview())
        || await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      await session.publish(local, "camera");
      self.hidden = false;
      setToggle(micButton, true);
      setToggle(camButton, true);
      render();
      watcher.update();
      ctx.announce(s.you_are_on_stage);
    } catch (error) {
      stopLocal();
      selfError.textContent = !navigator.mediaDevices ? s.insecure
        : error.name === "NotAllowedError" ? s.permission_refused : errorText(strings, error);
      selfError.hidden = false;
    }
  }

  function stopLocal() {
    if (local) for (const track of local.getTracks()) track.stop();
    local = null;
  }

  function stopPublishing() {
    self.hidden = true;
    stopLocal();
    session.unpublish("camera", { quiet: true });
  }

  /** This attendee's invitation: "accepted" puts them on stage, anything else takes them off. */
  function stageChanged(state) {
    const next = state === "accepted";
    if (next === onStage) return;
    onStage = next;
    if (next && live) goOnStage();
    else if (!next) {
      stopPublishing();
      render();
      watcher.update();
    }
  }

  function setToggle(button, on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.dataset[on ? "on" : "off"];
  }

  function toggle(button, kind) {
    if (!local) return;
    const on = button.getAttribute("aria-pressed") !== "true";
    for (const track of local.getTracks()) if (track.kind === kind) track.enabled = on;
    setToggle(button, on);
    session.announceMuted("camera", kind === "audio" ? { audio_muted: !on } : { video_muted: !on }).catch(() => {});
  }

  micButton.addEventListener("click", () => toggle(micButton, "audio"));
  camButton.addEventListener("click", () => toggle(camButton, "video"));
  leaveButton.addEventListener("click", () => {
    ctx.client.call("stage.leave", {}).catch(() => {});
    stageChanged("ended");
  });

  window.addEventListener("pagehide", () => { session.stopAll(); });

  return { joined, event, phaseChanged, stageChanged, session, view };
}
