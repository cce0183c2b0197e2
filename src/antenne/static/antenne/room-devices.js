// The check before going on stage (templates/public/room/_stage_dialog.html): at the
// person's click, their camera's preview and their microphone's level, seen by them alone.
// Nothing is sent: the stream stays in the page until they accept, when room-media.js
// publishes this very stream (`take()`), so the browser does not ask again; closing the
// dialog otherwise stops it.

import { errorText } from "./ui.js";

const LEVEL_EVERY_MS = 100;

export function setupDevices(ctx) {
  const { $, strings } = ctx;
  const s = strings.media;
  const check = $("room-devices-check");
  const preview = $("room-devices-preview");
  const video = $("room-devices-video");
  const level = $("room-devices-level");
  const error = $("room-devices-error");
  let stream = null;
  let audio = null; // {context, timer}
  let asking = false;

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

  async function start() {
    if (stream || asking) return;
    asking = true;
    error.hidden = true;
    try {
      if (!navigator.mediaDevices) throw Object.assign(new Error("insecure"), { name: "Insecure" });
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      video.srcObject = stream;
      preview.hidden = false;
      check.hidden = true;
      audio = stream.getAudioTracks().length ? meter(stream) : null;
      video.play().catch(() => {});
    } catch (problem) {
      stop();
      error.textContent = problem.name === "Insecure" ? s.insecure
        : problem.name === "NotAllowedError" ? s.permission_refused
        : problem.name === "NotFoundError" ? s.no_device : errorText(strings, problem);
      error.hidden = false;
    } finally {
      asking = false;
    }
  }

  function stopMeter() {
    if (!audio) return;
    window.clearInterval(audio.timer);
    audio.context.close().catch(() => {});
    audio = null;
    level.value = 0;
  }

  /** The dialog closed without accepting: the camera and microphone are released. */
  function stop() {
    stopMeter();
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
    preview.hidden = true;
    check.hidden = false;
  }

  /** Accepted: the checked stream goes on stage (null if the person did not check). */
  function take() {
    const taken = stream && stream.getTracks().some((track) => track.readyState === "live") ? stream : null;
    stopMeter();
    stream = null;
    video.srcObject = null;
    preview.hidden = true;
    check.hidden = false;
    return taken;
  }

  check.addEventListener("click", start);
  return { stop, take };
}
