"""The dial-in voice prompts are real speech, up to date with their texts, and the hold music
loops cleanly."""

from __future__ import annotations

import itertools
import json
import math
import wave
from array import array
from pathlib import Path

import pytest

from antenne.telephony import prompts
from tests import peers

REBUILD = "run `python -m antenne.telephony.prompts build` and commit the WAV files"


def _samples(pcm: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(pcm)
    return samples


def _rms(samples: array[int] | list[int]) -> float:
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


def _frame_levels(samples: array[int]) -> list[float]:
    step = prompts.FRAME_SAMPLES
    return [_rms(samples[i : i + step]) for i in range(0, len(samples) - step + 1, step)]


def _wav_files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.glob("*/*.wav")}


ALL_PROMPTS = [(name, lang) for name in sorted(prompts.TEXTS) for lang in prompts.LANGS]


def test_every_prompt_has_a_french_and_an_english_text():
    for name, texts in prompts.TEXTS.items():
        assert set(texts) == {"fr", "en"}, name
        assert all(text.strip() for text in texts.values()), name
    assert "Tapez le code du webinaire, puis la touche dièse." in prompts.TEXTS["enter_pin"]["fr"]


@pytest.mark.parametrize(("name", "lang"), ALL_PROMPTS)
def test_prompt_wav_is_telephone_format_and_sounds_like_speech(name, lang):
    path = prompts.PROMPTS_DIR / lang / f"{name}.wav"
    assert path.is_file(), f"{path} is missing: {REBUILD}"
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)

    samples = _samples(prompts.load(name, lang))
    duration = len(samples) / prompts.SAMPLE_RATE
    assert 0.5 <= duration <= 15, f"{lang}/{name} lasts {duration:.2f} s"
    assert _rms(samples) > 300, f"{lang}/{name} is (nearly) silent"
    assert max(abs(x) for x in samples) < 32000, f"{lang}/{name} clips"
    # Speech comes in syllables and words: loud frames and quiet gaps, unlike a tone or noise.
    levels = _frame_levels(samples)
    loudest = max(levels)
    loud = sum(level > 0.3 * loudest for level in levels) / len(levels)
    quiet = sum(level < 0.1 * loudest for level in levels) / len(levels)
    assert loud > 0.2, f"{lang}/{name}: too few loud frames ({loud:.0%})"
    assert quiet > 0.1, f"{lang}/{name}: no pauses between words ({quiet:.0%})"


def test_no_stray_wav_files_ship():
    expected = {f"{lang}/{name}.wav" for name, lang in ALL_PROMPTS}
    assert _wav_files(prompts.PROMPTS_DIR) == expected


def test_manifest_matches_the_texts():
    manifest = json.loads((prompts.PROMPTS_DIR / prompts.MANIFEST).read_text(encoding="utf-8"))
    expected = prompts.expected_manifest()
    stale = sorted(key for key in expected if manifest.get(key) != expected[key])
    extra = sorted(set(manifest) - set(expected))
    assert not stale, f"prompts out of date with their text: {stale}; {REBUILD}"
    assert not extra, f"prompts in the manifest without a text: {extra}; {REBUILD}"


def test_changing_a_text_makes_its_prompt_stale(monkeypatch):
    before = prompts.text_digest("welcome", "fr")
    monkeypatch.setitem(prompts.TEXTS, "welcome", {"fr": "Bonjour.", "en": "Hello."})
    assert prompts.text_digest("welcome", "fr") != before


def test_build_produces_the_committed_set_of_prompts(tmp_path):
    espeak = peers.espeak_ng()
    sox = peers.sox()
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "removed_prompt.wav").write_bytes(b"")

    prompts.build(tmp_path, espeak=espeak, sox=sox)

    assert _wav_files(tmp_path) == _wav_files(prompts.PROMPTS_DIR)
    built = json.loads((tmp_path / prompts.MANIFEST).read_text(encoding="utf-8"))
    assert built == prompts.expected_manifest()
    for name, lang in ALL_PROMPTS:
        with wave.open(str(tmp_path / lang / f"{name}.wav"), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
            fresh = wav.getnframes()
        committed = len(prompts.load(name, lang)) // 2
        assert abs(fresh - committed) <= 0.1 * committed, f"{lang}/{name}: {REBUILD}"


def test_load_falls_back_to_french_and_rejects_unknown_prompts():
    assert prompts.load("welcome", "de") == prompts.load("welcome", "fr")
    assert prompts.load("welcome", "en-GB") == prompts.load("welcome", "en")
    assert prompts.load("welcome", "en") != prompts.load("welcome", "fr")
    with pytest.raises(KeyError):
        prompts.load("no_such_prompt", "fr")


def test_waiting_music_is_audible_frame_aligned_and_loops_without_a_click():
    pcm = prompts.waiting_music()
    samples = _samples(pcm)
    assert len(pcm) % prompts.FRAME_BYTES == 0
    assert len(samples) == 8 * prompts.SAMPLE_RATE
    assert _rms(samples) > 300
    assert 4000 <= max(abs(x) for x in samples) <= 10000  # soft, far from clipping
    assert abs(samples[0]) < 100
    assert abs(samples[-1]) < 100
    assert abs(samples[-1] - samples[0]) < 200
    # A melody, not one held tone: the level rises again at each note.
    levels = _frame_levels(samples)
    onsets = sum(1 for a, b in itertools.pairwise(levels) if b > 1.5 * a + 200)
    assert onsets >= 8
    assert len(prompts.waiting_music(1.01)) % prompts.FRAME_BYTES == 0


def test_frames_are_20_ms_and_the_last_is_padded_with_silence():
    pcm = b"\x01\x02" * 350  # 700 bytes
    chunks = prompts.frames(pcm)
    assert [len(chunk) for chunk in chunks] == [320, 320, 320]
    assert b"".join(chunks)[:700] == pcm
    assert chunks[-1] == b"\x01\x02" * 30 + bytes(260)
    assert prompts.frames(bytes(640)) == [bytes(320), bytes(320)]
    assert prompts.frames(b"") == []


def test_silence_lasts_the_given_milliseconds():
    assert prompts.silence(20) == bytes(320)
    assert prompts.silence(0) == b""
    assert len(prompts.frames(prompts.silence(1000))) == 50
