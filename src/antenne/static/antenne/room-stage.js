// What the attendee does besides writing (templates/public/room/_actions.html and
// _stage_dialog.html): raise and lower their hand (a toggle button), react with an emoji
// (the room's reactions summed per frame float by, still when the person prefers less
// motion), answer an invitation on stage (a modal dialog, when a public `stage.invitation`
// names this attendee's own `target`, given by the join reply: it says that camera and
// microphone will be shared and lets them check both first, room-devices.js), and see that
// they are muted. Going on stage lowers the hand (the server says so too).
//
// Staff muting or unmuting the attendee, or lowering their hand, reaches them as a public
// `attendee.state` event naming their own `target` (docs/live-protocol.md).

import { el, errorText } from "./ui.js";
import { setupDevices } from "./room-devices.js";

const REACTION_PACE_MS = 1000; // the server takes one reaction per second per connection
const BURST_MS = 2600;
const MAX_BURSTS = 4;

export function setupStage(ctx) {
  const { strings, $ } = ctx;
  const hand = $("room-hand");
  const handLabel = hand.querySelector("[data-label]");
  const handStatus = $("room-hand-status");
  const muted = $("room-muted");
  const notice = $("room-stage-notice");
  const noticeText = $("room-stage-notice-text");
  const answer = $("room-stage-answer");
  const dialog = $("room-stage-dialog");
  const dialogError = $("room-stage-dialog-error");
  const accept = $("room-stage-accept");
  const decline = $("room-stage-decline");
  const burst = $("room-reactions-burst");
  const reactionButtons = [...document.querySelectorAll(".antenne-reactions__button")];
  let target = "";
  let invitation = null; // {invitation_id, state} of this attendee, while open
  let raised = false;
  let handBusy = false;
  let answering = false;
  let lastReaction = 0;

  // --- Muted -------------------------------------------------------------------------------

  function setMuted(value) {
    muted.hidden = !value;
  }

  // --- The hand ------------------------------------------------------------------------------

  function showHand(value, { say = true } = {}) {
    const changed = raised !== value;
    raised = value;
    // The button says what it does next: "Raise my hand", then "Lower my hand".
    hand.dataset.raised = value ? "true" : "false";
    handLabel.textContent = value ? hand.dataset.lower : hand.dataset.raise;
    hand.classList.toggle("fr-btn--secondary", !value);
    if (changed && say) handStatus.textContent = value ? strings.hand_raised : strings.hand_lowered;
    else if (!value && !say) handStatus.textContent = "";
  }

  hand.addEventListener("click", () => {
    if (handBusy) return;
    handBusy = true;
    ctx.client.call(raised ? "hand.lower" : "hand.raise", {}).then((data) => {
      showHand(Boolean(data.raised));
      if (data.raised) setMuted(false);
    }, (error) => {
      if (error.code === "room.muted") setMuted(true);
      handStatus.textContent = errorText(strings, error);
    }).finally(() => { handBusy = false; });
  });

  // --- Reactions -------------------------------------------------------------------------------

  for (const button of reactionButtons) {
    button.addEventListener("click", () => {
      // aria-disabled, not disabled: the button keeps the keyboard focus meanwhile.
      if (Date.now() - lastReaction < REACTION_PACE_MS) return;
      lastReaction = Date.now();
      for (const other of reactionButtons) other.setAttribute("aria-disabled", "true");
      window.setTimeout(() => { for (const other of reactionButtons) other.removeAttribute("aria-disabled"); }, REACTION_PACE_MS);
      ctx.client.call("react", { emoji: button.dataset.emoji }).catch(() => {}); // a lost reaction is no matter
    });
  }

  /** One floating summary of the reactions of a frame: "👏 12  ❤️ 3". */
  function reactions(counts) {
    const known = Object.keys(strings.reactions || {});
    const parts = known.filter((emoji) => counts[emoji] > 0).map((emoji) => `${emoji} ${counts[emoji]}`);
    if (!parts.length || !ctx.isLive()) return;
    const bubble = el("span", { className: "antenne-reactions__bubble", text: parts.join("  ") });
    burst.append(bubble);
    while (burst.childElementCount > MAX_BURSTS) burst.firstElementChild.remove();
    window.setTimeout(() => bubble.remove(), BURST_MS);
  }

  // --- The stage ---------------------------------------------------------------------------

  function showNotice(text, withAnswer) {
    notice.hidden = !text;
    noticeText.textContent = text || "";
    answer.hidden = !withAnswer;
  }

  const devices = setupDevices(ctx);
  ctx.takePreview = () => devices.take();

  function openDialog() {
    dialogError.hidden = true;
    if (!dialog.open && ctx.isLive()) dialog.showModal();
  }

  // Closed without going on stage (Escape, Decline, the invitation withdrawn): the camera
  // and microphone the person checked are released.
  dialog.addEventListener("close", () => {
    if (invitation?.state !== "accepted") devices.stop();
  });

  function closeDialog() {
    if (dialog.open) dialog.close();
  }

  /** This attendee's invitation changed: `{invitation_id, state}` or null. */
  function applyInvitation(next, { announce = true } = {}) {
    const before = invitation?.state;
    invitation = next && (next.state === "invited" || next.state === "accepted") ? next : null;
    if (ctx.stageChanged) ctx.stageChanged(invitation ? invitation.state : "");
    if (invitation?.state === "invited") {
      showNotice(strings.stage_invited, true);
      if (before !== "invited" || !dialog.open) {
        if (announce) ctx.announce(strings.announce_invited);
        openDialog();
      }
    } else if (invitation?.state === "accepted") {
      closeDialog();
      showNotice(strings.stage_on, false);
      showHand(false, { say: false }); // on stage, the hand has done its job
    } else {
      closeDialog();
      showNotice("", false);
      if (before === "accepted" && announce) ctx.announce(strings.announce_stage_ended);
    }
  }

  function answerInvitation(yes) {
    if (!invitation || answering) return;
    answering = true;
    const { invitation_id } = invitation;
    ctx.client.call(yes ? "stage.accept" : "stage.decline", { invitation_id }).then((data) => {
      applyInvitation({ invitation_id, state: data.state }, { announce: false });
    }, (error) => {
      if (error.code === "stage.not_pending" || error.code === "stage.not_found") {
        applyInvitation(null, { announce: false });
        ctx.announce(errorText(strings, error));
      } else {
        dialogError.textContent = errorText(strings, error);
        dialogError.hidden = false;
      }
    }).finally(() => { answering = false; });
  }

  accept.addEventListener("click", () => answerInvitation(true));
  decline.addEventListener("click", () => answerInvitation(false));
  // Escape closes the dialog without answering: the notice keeps a way back to it.
  answer.addEventListener("click", openDialog);

  // --- From the connection --------------------------------------------------------------------

  /** Each join: the person's `target`, whether they are muted, their open invitation. A new
   * connection starts with the hand down (the server lowers it with the connection). */
  function joined(reply) {
    target = reply.target || "";
    setMuted(Boolean(reply.muted));
    showHand(false, { say: false });
    applyInvitation(reply.stage || null, { announce: true });
  }

  function event(name, data) {
    if (name === "stage.invitation" && target && data.target === target) {
      applyInvitation({ invitation_id: data.invitation_id, state: data.state });
    } else if (name === "attendee.state" && target && data.target === target) {
      // Staff changed something for this attendee: muted or not, hand lowered.
      if (typeof data.muted === "boolean") {
        setMuted(data.muted);
        ctx.announce(data.muted ? strings.announce_muted : strings.announce_unmuted);
      }
      if (data.hand === false) showHand(false);
    }
  }

  /** The live panel shows (an invitation may have come while it was hidden) or hides. */
  function phaseChanged(live) {
    if (!live) closeDialog();
    else if (invitation?.state === "invited") openDialog();
  }

  return { joined, event, reactions, setMuted, phaseChanged };
}
