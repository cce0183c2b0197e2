// The stage in the console (templates/control/console/_media.html), for speakers and staff:
// the device check (pick a camera and a microphone, see the preview and the microphone's
// level, play a test sound), go on stage and leave it, switch the microphone and camera,
// share the screen; watch the stage from the green room on; for staff, the media quality of
// each person (`media.stats`). The publication lives as long as the page: the session's
// state changing (green room → live) does not touch it.

import { MediaSession, StageView, StageWatcher, qualityLoop } from "./media.js";
import { el, errorText, fill, showMessage } from "./ui.js";

const WATCHING_STATES = new Set(["green_room", "live"]);

export function createMedia(ctx) {
  const { root, strings } = ctx;
  const s = strings.media;
  const $ = (id) => document.getElementById(id);
  const session = new MediaSession(root.dataset.sessionId);
  const view = new StageView($("console-stage-tiles"), s);
  const preview = $("console-preview");
  const cameraSelect = $("console-camera");
  const micSelect = $("console-microphone");
  const previewButton = $("console-preview-start");
  const publishButton = $("console-publish");
  const micButton = $("console-mic");
  const camButton = $("console-cam");
  const screenButton = $("console-screen");
  const messages = $("console-media-messages");
  const empty = $("console-stage-empty");
  const statsBody = $("console-media-stats");
  const statsEmpty = $("console-media-stats-empty");
  const devices = $("studio-devices");
  const level = $("studio-level");
  let audio = null; // the AudioContext of the level meter and the test sound
  let levelTimer = 0;
  let local = null; // camera + microphone stream (preview, then published)
  let screen = null;
  let feeds = [];
  let state = root.dataset.state;
  const watcher = new StageWatcher(session, view,
    () => (WATCHING_STATES.has(state) ? feeds.map((f) => f.id) : []), (error) => fail(error));
  const quality = qualityLoop(session, view, $("console-quality"), s.quality);

  // Sound needs a click on the page first: the next one turns it on.
  view.onSoundBlocked = () => {
    showMessage(messages, s.sound_blocked, "info");
    document.addEventListener("click", () => { view.enableSound(); showMessage(messages, ""); }, { once: true });
  };
  $("console-layout").addEventListener("change", (event) => view.setLayout(event.target.value));

  function setToggle(button, on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.dataset[on ? "on" : "off"];
  }

  function fail(error) {
    const text = !navigator.mediaDevices ? s.insecure
      : error && error.name === "NotAllowedError" ? s.permission_refused
      : error && error.name === "NotFoundError" ? s.no_device
      : errorText(strings, error || {});
    showMessage(messages, text);
  }

  // --- Devices and preview -------------------------------------------------------------------

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [select, kind] of [[cameraSelect, "videoinput"], [micSelect, "audioinput"]]) {
      const chosen = select.value;
      for (const option of [...select.options].slice(1)) option.remove();
      for (const device of devices.filter((d) => d.kind === kind && d.deviceId)) {
        const option = el("option", { text: device.label || device.deviceId.slice(0, 8) });
        option.value = device.deviceId;
        select.append(option);
      }
      select.value = chosen;
    }
  }

  async function openDevices() {
    stopStream(local);
    const video = { width: 640, height: 480 };
    if (cameraSelect.value) video.deviceId = { exact: cameraSelect.value };
    const audio = micSelect.value ? { deviceId: { exact: micSelect.value } } : true;
    local = await navigator.mediaDevices.getUserMedia({ audio, video });
    preview.srcObject = local;
    preview.hidden = false;
    measure(local);
    await listDevices(); // labels are known once permission is given
    return local;
  }

  function audioContext() {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }

  /** The microphone's level on the meter, ten times a second, while the stream lasts. */
  function measure(stream) {
    window.clearInterval(levelTimer);
    const context = audioContext();
    if (!context || !stream.getAudioTracks().length) return;
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    levelTimer = window.setInterval(() => {
      const track = stream.getAudioTracks()[0];
      if (!track || track.readyState === "ended") {
        window.clearInterval(levelTimer);
        level.value = 0;
        level.textContent = "0";
        return;
      }
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const value = track.enabled ? Math.min(100, Math.round(Math.sqrt(sum / samples.length) * 300)) : 0;
      level.value = value;
      level.textContent = String(value);
    }, 100);
  }

  /** A short tone, for the person to hear their speakers or headphones. */
  $("studio-speaker-test").addEventListener("click", () => {
    const context = audioContext();
    if (!context) return;
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 440;
    gain.gain.setValueAtTime(0.2, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.8);
    tone.connect(gain).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.8);
    showMessage(messages, strings.test_sound, "info");
  });

  function stopStream(stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  }

  previewButton.addEventListener("click", () => { openDevices().then(() => showMessage(messages, "")).catch(fail); });
  for (const select of [cameraSelect, micSelect]) {
    select.addEventListener("change", () => {
      if (!local) return;
      openDevices().then((stream) => (session.publishers.has("camera") ? session.publish(stream, "camera") : null)).catch(fail);
    });
  }

  // --- On stage ------------------------------------------------------------------------------

  function onStage() {
    return session.publishers.has("camera");
  }

  function showPublishing() {
    setToggle(publishButton, onStage());
    micButton.disabled = camButton.disabled = !onStage();
    if (onStage()) {
      setToggle(micButton, local.getAudioTracks().some((t) => t.enabled));
      setToggle(camButton, local.getVideoTracks().some((t) => t.enabled));
    }
  }

  publishButton.addEventListener("click", () => {
    publishButton.disabled = true;
    const work = onStage()
      ? session.unpublish("camera").then(() => { stopStream(local); local = null; preview.srcObject = null; preview.hidden = true; showMessage(messages, s.unpublished, "info"); })
      : (local ? Promise.resolve(local) : openDevices()).then((stream) => session.publish(stream, "camera")).then(() => {
        showMessage(messages, s.published, "valid");
        devices.open = false; // the stage shows the person now: the check folds away
      });
    work.catch(fail).finally(() => {
      publishButton.disabled = false;
      showPublishing();
      render();
      watcher.update();
    });
  });

  function toggle(button, kind) {
    if (!local) return;
    const on = button.getAttribute("aria-pressed") !== "true";
    for (const track of local.getTracks()) if (track.kind === kind) track.enabled = on;
    setToggle(button, on);
    session.announceMuted("camera", kind === "audio" ? { audio_muted: !on } : { video_muted: !on }).catch(fail);
  }

  micButton.addEventListener("click", () => toggle(micButton, "audio"));
  camButton.addEventListener("click", () => toggle(camButton, "video"));

  screenButton.addEventListener("click", () => {
    if (screen) {
      stopScreen();
      return;
    }
    navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).then((stream) => {
      screen = stream;
      // The browser's own "Stop sharing" button ends the track.
      stream.getVideoTracks()[0].addEventListener("ended", stopScreen);
      return session.publish(stream, "screen");
    }).then(() => {
      setToggle(screenButton, true);
      showMessage(messages, s.sharing, "valid");
      render();
      watcher.update();
    }).catch((error) => {
      stopStream(screen);
      screen = null;
      fail(error);
    });
  });

  function stopScreen() {
    stopStream(screen);
    screen = null;
    setToggle(screenButton, false);
    session.unpublish("screen", { quiet: true }).then(() => showMessage(messages, s.sharing_stopped, "info"));
  }

  // --- The stage -----------------------------------------------------------------------------

  function localFeeds() {
    const map = new Map();
    const camera = session.publishers.get("camera");
    if (camera && local) map.set(camera.feedId, local);
    const shared = session.publishers.get("screen");
    if (shared && screen) map.set(shared.feedId, screen);
    return map;
  }

  function render() {
    const shown = WATCHING_STATES.has(state) ? feeds : [];
    view.setFeeds(shown, { localFeeds: localFeeds() });
    empty.hidden = shown.length > 0;
  }

  function joined(reply) {
    session.setConfig(reply.media);
    watcher.restart();
    if (!reply.resynced && reply.snapshot) {
      feeds = reply.snapshot.feeds || [];
      state = reply.snapshot.state || state;
    }
    // A new connection: what this page published went with the old one.
    session.publishers.clear();
    showPublishing();
    render();
    watcher.update();
  }

  function feedsChanged(data) {
    feeds = data.feeds || [];
    const live = new Set(feeds.map((f) => f.id));
    for (const [source, publisher] of session.publishers) {
      if (!live.has(publisher.feedId)) {
        // Ended by the server (taken off, session over): stop sending.
        publisher.pc.close();
        session.publishers.delete(source);
        if (source === "screen") stopScreen();
      }
    }
    showPublishing();
    render();
    watcher.update();
  }

  function stateChanged(next) {
    state = next;
    if (!WATCHING_STATES.has(next)) {
      watcher.stop();
      stopStream(screen);
      screen = null;
      showPublishing();
    }
    render();
    watcher.update();
  }

  // --- Media quality (staff) ------------------------------------------------------------------

  function kbps(value) {
    return value == null ? "—" : `${Math.round(value / 1000)} kbit/s`;
  }

  function statsChanged(data) {
    if (!statsBody) return;
    const rows = [];
    for (const person of data.people || []) {
      for (const track of person.tracks) {
        const row = document.createElement("tr");
        const cells = [
          person.name || fill(strings.registration, { id: person.presence_id }),
          `${(s.kinds || {})[track.kind] || track.kind} · ${track.direction === "in" ? s.up : s.down}`,
          kbps(track.bitrate),
          track.fraction_lost == null ? "—" : `${(track.fraction_lost * 100).toFixed(1)} %`,
          track.rtt_ms == null ? "—" : `${Math.round(track.rtt_ms)} ms`,
        ];
        for (const text of cells) row.append(el("td", { text }));
        rows.push(row);
      }
    }
    statsBody.replaceChildren(...rows);
    statsEmpty.hidden = rows.length > 0;
  }

  quality.start();
  window.addEventListener("pagehide", () => { session.stopAll(); });

  return { joined, feedsChanged, stateChanged, statsChanged, session, view };
}
