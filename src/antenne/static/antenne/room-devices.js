// The check before going on stage (templates/public/room/_stage_dialog.html): at the
// person's click, their camera's preview and their microphone's level, seen by them alone,
// and a choice of camera and microphone when there are several.
// Nothing is sent: the stream stays in the page until they accept, when room-media.js
// publishes this very stream (`take()`), so the browser does not ask again; closing the
// dialog otherwise stops it.

import { el, errorText, fill } from "./ui.js";

const LEVEL_EVERY_MS = 100;

export function setupDevices(ctx) {
  const { $, strings } = ctx;
  const s = strings.media;
  const check = $("room-devices-check");
  const preview = $("room-devices-preview");
  const video = $("room-devices-video");
  const level = $("room-devices-level");
  const error = $("room-devices-error");
  const choices = {
    video: { select: $("room-devices-camera"), group: $("room-devices-camera-group"), kind: "videoinput" },
    audio: { select: $("room-devices-microphone"), group: $("room-devices-microphone-group"), kind: "audioinput" },
  };
  let stream = null; // shown in the preview
  let request = null; // {promise, cancelled, taken} while the browser asks the person
  let audio = null; // {context, timer}

  function meter(source) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(source).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = window.setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // The RMS, scaled so that a speaking voice fills most of the bar.
      level.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    }, LEVEL_EVERY_MS);
    return { context, timer };
  }

  function release(tracksOf) {
    if (tracksOf) for (const track of tracksOf.getTracks()) track.stop();
  }

  async function start() {
    if (stream || request) return;
    error.hidden = true;
    if (!navigator.mediaDevices) {
      showError(s.insecure);
      return;
    }
    const mine = {
      promise: navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } }),
      cancelled: false,
      taken: false,
    };
    request = mine;
    let got;
    try {
      got = await mine.promise;
    } catch (problem) {
      if (request === mine) request = null;
      if (!mine.cancelled && !mine.taken) {
        showError(problem.name === "NotAllowedError" ? s.permission_refused
          : problem.name === "NotFoundError" ? s.no_device : errorText(strings, problem));
      }
      return;
    }
    if (request === mine) request = null;
    if (mine.taken) return; // accepted meanwhile: this stream went on stage
    if (mine.cancelled) {
      release(got); // the dialog closed meanwhile
      return;
    }
    stream = got;
    video.srcObject = stream;
    preview.hidden = false;
    check.hidden = true;
    audio = stream.getAudioTracks().length ? meter(stream) : null;
    video.play().catch(() => {});
    listDevices();
  }

  /** The cameras and microphones to choose from (their names are known once allowed). */
  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    if (!stream) return;
    for (const [type, { select, group, kind }] of Object.entries(choices)) {
      const found = devices.filter((device) => device.kind === kind && device.deviceId);
      select.replaceChildren(...found.map((device, index) => el("option", {
        text: device.label || fill(strings.device_fallback, { count: index + 1 }),
        attrs: { value: device.deviceId },
      })));
      const [track] = type === "video" ? stream.getVideoTracks() : stream.getAudioTracks();
      const current = track && track.getSettings().deviceId;
      if (current) select.value = current;
      group.hidden = found.length < 2;
    }
  }

  /** The person chose another camera or microphone: its track replaces the previous one. */
  async function switchDevice(type, deviceId) {
    if (!stream) return;
    const constraints = type === "video"
      ? { video: { deviceId: { exact: deviceId }, width: 640, height: 480 } }
      : { audio: { deviceId: { exact: deviceId } } };
    let fresh;
    try {
      fresh = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (problem) {
      showError(errorText(strings, problem));
      return;
    }
    if (!stream) {
      release(fresh); // closed meanwhile
      return;
    }
    error.hidden = true;
    const [track] = type === "video" ? fresh.getVideoTracks() : fresh.getAudioTracks();
    for (const old of type === "video" ? stream.getVideoTracks() : stream.getAudioTracks()) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    if (type === "audio") {
      stopMeter();
      audio = meter(stream);
    } else {
      video.srcObject = stream;
      video.play().catch(() => {});
    }
  }

  for (const [type, { select }] of Object.entries(choices)) {
    select.addEventListener("change", () => switchDevice(type, select.value));
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  function stopMeter() {
    if (!audio) return;
    window.clearInterval(audio.timer);
    audio.context.close().catch(() => {});
    audio = null;
  }

  function reset() {
    stopMeter();
    level.value = 0;
    for (const { group } of Object.values(choices)) group.hidden = true;
    stream = null;
    video.srcObject = null;
    preview.hidden = true;
    check.hidden = false;
  }

  /** The dialog closed without accepting: the camera and microphone are released. */
  function stop() {
    if (request) request.cancelled = true;
    request = null;
    release(stream);
    reset();
  }

  /** Accepted: a promise of the checked stream, to go on stage (null if the person did not
   * check, or the browser refused). A check still waiting for the browser is handed over. */
  function take() {
    const ready = stream && stream.getTracks().some((track) => track.readyState === "live") ? stream : null;
    const waiting = request;
    request = null;
    reset();
    if (ready) return Promise.resolve(ready);
    if (!waiting) return Promise.resolve(null);
    waiting.taken = true;
    return waiting.promise.catch(() => null);
  }

  check.addEventListener("click", start);
  return { stop, take };
}
