"""Voice prompts of the dial-in menu, and the hold music.

The prompts are real speech: `build` renders every text of `TEXTS` with espeak-ng and converts
it with sox to what the gateway plays (8 kHz, mono, signed 16-bit little-endian WAV) under
`prompts/<lang>/<name>.wav`, next to a `manifest.json` holding a digest of each text, so a
test notices a prompt whose text changed without being rebuilt. The WAV files are committed
and ship with the package; rebuild them with::

    python -m antenne.telephony.prompts build

`load` returns a prompt's raw PCM, `waiting_music` a loopable phrase synthesised here,
`frames` cuts PCM into the 20 ms frames that RTP packets carry.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import re
import subprocess
import sys
import tempfile
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH
LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
PROMPTS_DIR = Path(__file__).with_name("prompts")
MANIFEST = "manifest.json"

# espeak-ng voice and speaking rate (words per minute) per language.
VOICES = {"fr": "fr-fr", "en": "en-gb"}
SPEED = 150

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "fr": "Bienvenue sur Antenne, le service de webinaires.",
        "en": "Welcome to Antenne, the webinar service.",
    },
    "enter_pin": {
        "fr": "Tapez le code du webinaire, puis la touche dièse.",
        "en": "Enter the webinar PIN, then the hash key.",
    },
    "wrong_pin": {
        "fr": "Ce code n'est pas valide. Veuillez réessayer.",
        "en": "This PIN is not valid. Please try again.",
    },
    "too_many": {
        "fr": "Trop de codes erronés. Au revoir.",
        "en": "Too many wrong attempts. Goodbye.",
    },
    "throttled": {
        "fr": "Trop de tentatives depuis ce numéro. Merci de rappeler plus tard. Au revoir.",
        "en": "Too many attempts from this number. Please call again later. Goodbye.",
    },
    "pin_throttled": {
        "fr": "Trop de tentatives avec ce code. Merci de rappeler plus tard. Au revoir.",
        "en": "Too many attempts with this PIN. Please call again later. Goodbye.",
    },
    "no_pin": {
        "fr": "Aucun code n'a été saisi. Au revoir.",
        "en": "No PIN was entered. Goodbye.",
    },
    "waiting": {
        "fr": (
            "Le webinaire n'a pas encore commencé. Merci de rester en ligne : "
            "vous l'entendrez dès qu'il commencera."
        ),
        "en": (
            "The webinar has not started yet. Please stay on the line: "
            "you will hear it as soon as it starts."
        ),
    },
    "live": {
        "fr": "Vous rejoignez le webinaire. Pour lever la main, tapez étoile, puis 1.",
        "en": "You are joining the webinar. To raise your hand, press star, then 1.",
    },
    "hand_raised": {
        "fr": "Votre main est levée.",
        "en": "Your hand is raised.",
    },
    "hand_lowered": {
        "fr": "Votre main est baissée.",
        "en": "Your hand is lowered.",
    },
    "floor_given": {
        "fr": "L'animateur vous donne la parole. Vous pouvez parler.",
        "en": "The host is giving you the floor. You may speak now.",
    },
    "floor_taken": {
        "fr": "Votre micro est de nouveau coupé.",
        "en": "Your microphone is muted again.",
    },
    "ended": {
        "fr": "Le webinaire est terminé. Merci de votre participation. Au revoir.",
        "en": "The webinar has ended. Thank you for joining. Goodbye.",
    },
    "unavailable": {
        "fr": "Le service est momentanément indisponible. Merci de rappeler plus tard.",
        "en": "The service is temporarily unavailable. Please call again later.",
    },
}

# Respellings fed to espeak-ng only: its French dictionary reads "webinaire" with an English
# accent, and its English one spells "PIN" letter by letter.
_RESPELLINGS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "fr": ((re.compile(r"\bwebinaire", re.IGNORECASE), "ouébinaire"),),
    "en": ((re.compile(r"\bPIN\b"), "pin"),),
}


def spoken_text(name: str, lang: str) -> str:
    """What espeak-ng is given for a prompt: its text, respelled where the voice stumbles."""
    text = TEXTS[name][lang]
    for pattern, replacement in _RESPELLINGS.get(lang, ()):
        text = pattern.sub(replacement, text)
    return text


def text_digest(name: str, lang: str) -> str:
    """The sha256 recorded in the manifest: the text as spoken, the voice and the speed, so
    changing any of them makes the committed WAV stale."""
    source = f"{VOICES[lang]}\n{SPEED}\n{spoken_text(name, lang)}"
    return hashlib.sha256(source.encode()).hexdigest()


def expected_manifest() -> dict[str, str]:
    return {f"{lang}/{name}": text_digest(name, lang) for name in sorted(TEXTS) for lang in LANGS}


# --- Build ---------------------------------------------------------------------------------


# Trim espeak-ng's leading and trailing silence (the gateway inserts its own pauses), keep a
# short margin, and normalise to -3 dBFS. sox's -D (no dither) makes a rebuild of the same
# text give the same file.
_SOX_OUTPUT = ("-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer")
_SOX_EFFECTS = (
    *("silence", "1", "0.02", "-45d"),
    *("reverse", "silence", "1", "0.02", "-45d", "reverse"),
    *("pad", "0.05", "0.15"),
    *("norm", "-3"),
)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}")


def build(out_dir: Path, *, espeak: str = "espeak-ng", sox: str = "sox") -> None:
    """Render every prompt to `out_dir/<lang>/<name>.wav` (8 kHz mono s16le) and write
    `out_dir/manifest.json`. WAVs of prompts that no longer exist are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="antenne-prompts-") as tmp:
        raw = str(Path(tmp) / "espeak.wav")
        for lang in LANGS:
            lang_dir = out_dir / lang
            lang_dir.mkdir(exist_ok=True)
            for stale in lang_dir.glob("*.wav"):
                if stale.stem not in TEXTS:
                    stale.unlink()
            voice = [espeak, "-v", VOICES[lang], "-s", str(SPEED), "-w", raw, "--"]
            for name in sorted(TEXTS):
                out = str(lang_dir / f"{name}.wav")
                _run([*voice, spoken_text(name, lang)])
                _run([sox, "-D", raw, *_SOX_OUTPUT, out, *_SOX_EFFECTS])
    manifest = json.dumps(expected_manifest(), indent=2, sort_keys=True) + "\n"
    (out_dir / MANIFEST).write_text(manifest, encoding="utf-8")


# --- Playback ------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    base = lang.split("-")[0].split("_")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def load(name: str, lang: str) -> bytes:
    """A prompt's raw PCM (8 kHz mono s16le). An unknown language falls back to French
    ("en-GB" is English); an unknown prompt raises KeyError."""
    if name not in TEXTS:
        raise KeyError(name)
    return _load(name, _lang(lang))


@functools.lru_cache(maxsize=len(TEXTS) * len(LANGS))
def _load(name: str, lang: str) -> bytes:
    with wave.open(str(PROMPTS_DIR / lang / f"{name}.wav"), "rb") as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        if shape != (1, SAMPLE_WIDTH, SAMPLE_RATE):
            raise ValueError(f"prompt {lang}/{name}: expected 8 kHz mono 16-bit, got {shape}")
        return wav.readframes(wav.getnframes())


def silence(ms: int) -> bytes:
    """`ms` milliseconds of silent PCM."""
    if ms < 0:
        raise ValueError("ms must be >= 0")
    return bytes(ms * SAMPLE_RATE // 1000 * SAMPLE_WIDTH)


def frames(pcm: bytes) -> list[bytes]:
    """20 ms frames (320 bytes) of PCM, the last one padded with silence."""
    chunks = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if chunks and len(chunks[-1]) < FRAME_BYTES:
        chunks[-1] = chunks[-1].ljust(FRAME_BYTES, b"\0")
    return chunks


# A I-vi-IV-V progression, arpeggiated in the telephone band (Hz).
_ARPEGGIO = (
    (523.25, 659.25, 783.99, 659.25),  # C
    (440.00, 523.25, 659.25, 523.25),  # A minor
    (440.00, 523.25, 698.46, 523.25),  # F
    (392.00, 493.88, 587.33, 493.88),  # G
)
_NOTE_SECONDS = 0.5
_MUSIC_PEAK = 8000


@functools.lru_cache(maxsize=4)
def waiting_music(seconds: float = 8.0) -> bytes:
    """A soft arpeggio to play on hold, 8 kHz mono s16le, a whole number of 20 ms frames,
    starting and ending at silence so that it loops without a click."""
    total = max(1, round(seconds * SAMPLE_RATE / FRAME_SAMPLES)) * FRAME_SAMPLES
    notes = [freq for chord in _ARPEGGIO for freq in chord]
    count = max(1, round(total / (_NOTE_SECONDS * SAMPLE_RATE)))
    step = total // count
    attack = int(0.015 * SAMPLE_RATE)
    release = int(0.04 * SAMPLE_RATE)
    mix = [0.0] * total
    for index in range(count):
        start = index * step
        freq = notes[index % len(notes)]
        # Each note rings into the next one, but the last one ends with the phrase.
        length = min(int(step * 1.6), total - start)
        omega = 2 * math.pi * freq / SAMPLE_RATE
        for n in range(length):
            envelope = math.exp(-n / (0.3 * SAMPLE_RATE))
            if n < attack:
                envelope *= n / attack
            if n > length - release:
                envelope *= (length - n) / release
            phase = omega * n
            mix[start + n] += envelope * (
                math.sin(phase) + 0.2 * math.sin(2 * phase) + 0.05 * math.sin(3 * phase)
            )
    peak = max(abs(value) for value in mix) or 1.0
    samples = array("h", (round(value * _MUSIC_PEAK / peak) for value in mix))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m antenne.telephony.prompts")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="render the voice prompts to WAV files")
    build_parser.add_argument("--out", type=Path, default=PROMPTS_DIR, help="output directory")
    build_parser.add_argument("--espeak", default="espeak-ng", help="espeak-ng executable")
    build_parser.add_argument("--sox", default="sox", help="sox executable")
    args = parser.parse_args(argv)
    build(args.out, espeak=args.espeak, sox=args.sox)
    print(f"{len(TEXTS) * len(LANGS)} prompts written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
