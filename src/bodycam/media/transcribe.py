"""Speech to text with faster-whisper, offline, in the language spoken.

The model is chosen by ``media.asr_models`` (default: multilingual Whisper base put together
from two wheels; ``tiny.en`` as the small English-only fallback; ``TRANSCRIBE_MODEL_DIR`` for
any other CTranslate2 Whisper directory). ``settings.MEDIA_DEVICE`` ("auto", "cpu", "cuda")
picks the GPU when one is present (float16 there, int8 on the CPU).

Language (see docs/redaction.md, "Languages"): the speech found by Silero VAD is cut at
pauses into windows of at most 30 s of speech (Whisper's own input length). Whisper detects
the language of each window (unless a language is forced by the agency default or a per-job
override). Where a window's detection is unsure (probability < 0.7: often two languages in
one window), each stretch of speech between pauses gets its own detection. Consecutive
stretches of one language are decoded together in that language; in that decoding, speech
dropped or decoded very badly gets its own detection and, when confident (>= 0.5) and
different, is decoded again in its language. Every segment carries the language it was
decoded in; the recording's language is the one with the most speech. A switch inside one
stretch of speech with no pause is not split.

Translation to English is Whisper's ``translate`` task on the audio of the non-English
stretches (not a translation of the text): a separate, machine-made derivative.
"""

from __future__ import annotations

import os
import re
import unicodedata

_MODELS: dict = {}
SR = 16000
WINDOW_S = 30.0
MAX_WINDOW_SPAN_S = 60.0      # of clock time (speech + pauses) in one window
MIN_DETECT_S = 1.5           # shorter speech is not given its own language detection
DETECT_MIN_P = 0.5           # below this, a stretch's own detection is not trusted
SURE_P = 0.7                 # a window detected with less is checked segment by segment
LOW_LOGPROB = -1.0           # a segment decoded this badly is re-checked for another language
BEAM_SIZE = 10               # transcription beam width (see _decode)

# Whisper's languages (code -> English name), as the model's tokenizer knows them.
LANGUAGES = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian", "ko": "Korean",
    "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish", "pl": "Polish", "ca": "Catalan",
    "nl": "Dutch", "ar": "Arabic", "sv": "Swedish", "it": "Italian", "id": "Indonesian", "hi": "Hindi",
    "fi": "Finnish", "vi": "Vietnamese", "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay",
    "cs": "Czech", "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian", "la": "Latin",
    "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak", "te": "Telugu", "fa": "Persian",
    "lv": "Latvian", "bn": "Bengali", "sr": "Serbian", "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada",
    "et": "Estonian", "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian", "sw": "Swahili",
    "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala", "km": "Khmer", "sn": "Shona",
    "yo": "Yoruba", "so": "Somali", "af": "Afrikaans", "oc": "Occitan", "ka": "Georgian", "be": "Belarusian",
    "tg": "Tajik", "sd": "Sindhi", "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao",
    "uz": "Uzbek", "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk",
    "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan", "tl": "Tagalog",
    "mg": "Malagasy", "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian", "ln": "Lingala", "ha": "Hausa",
    "ba": "Bashkir", "jw": "Javanese", "su": "Sundanese", "yue": "Cantonese",
}


def language_name(code: str | None) -> str:
    return LANGUAGES.get(code or "", code or "unknown")


def check_language(code) -> str:
    """A language setting or override: "auto" or one of LANGUAGES; ValueError otherwise."""
    code = str(code or "auto").strip().lower()
    if code != "auto" and code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: use auto or a Whisper language code such as en, es, fr")
    return code


def model_dir() -> str:
    from .asr_models import model_path

    return model_path()[1]


def _device() -> tuple[str, str]:
    from django.conf import settings

    want = settings.MEDIA_DEVICE
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

    from .asr_models import model_path

    label, path = model_path()
    device, compute = _device()
    key = (path, device)
    if key not in _MODELS:
        # CTranslate2 runs 4 CPU threads by default: on a 2-core machine that oversubscribes
        # the cores (measured RTF 0.15-0.19 with 2 threads against 0.15-0.31 with 4, same text).
        threads = min(4, os.cpu_count() or 1) if device == "cpu" else 0
        _MODELS[key] = WhisperModel(path, device=device, compute_type=compute, cpu_threads=threads,
                                    local_files_only=True)
    return _MODELS[key], f"{label}@{device}"


def _words(seg, offset: float) -> list[dict]:
    return [{"start": round(float(w.start) + offset, 2), "end": round(float(w.end) + offset, 2),
             "word": w.word.strip(), "p": round(float(w.probability), 3)} for w in (seg.words or [])]


def _decode(model, audio, offset: float, language: str | None, task: str = "transcribe"):
    """Transcribe (or translate) one stretch of audio; timestamps shifted by ``offset``."""
    kw = dict(language=language, task=task, vad_filter=True, condition_on_previous_text=False)
    if task == "translate":
        # base loops on beam search when translating. One temperature, 0: no sampled fallback.
        # faster-whisper otherwise re-decodes by sampling (T=0.2, 0.4, ...) when a decode's
        # average log-probability is below -1.0, which translated speech often is (the test's
        # Spanish clip: -1.06), so the same audio gave a different translation on each run.
        kw.update(beam_size=1, no_repeat_ngram_size=3, temperature=0.0)
    else:
        # Beam 10, not 5: on the bench clips and a held-out set of 36 other espeak sentences
        # (other words, other noise seed) it gave 129 errors against 140, the gain in
        # Spanish (mostly noisy), English unchanged; about 15-30 % more decoding time. Larger beams (16)
        # or patience 2 gave nothing more. See docs/redaction.md, "Measured".
        kw.update(beam_size=BEAM_SIZE, word_timestamps=True)
    segments, info = model.transcribe(audio, **kw)
    out = []
    for seg in segments:
        item = {"start": round(float(seg.start) + offset, 2), "end": round(float(seg.end) + offset, 2),
                "text": seg.text.strip(), "language": info.language}
        if task == "transcribe":
            item["words"] = _words(seg, offset)
            item["logprob"] = round(float(seg.avg_logprob), 3)
        if item["text"]:
            out.append(item)
    return out, info


def _speech_chunks(audio) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [(c["start"], c["end"]) for c in get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500))]


def _windows(chunks) -> list[list[tuple[int, int]]]:
    """Consecutive speech chunks grouped into windows of at most WINDOW_S of speech."""
    out, cur, speech = [], [], 0
    for s, e in chunks:
        if cur and (speech + (e - s) > WINDOW_S * SR or e - cur[0][0] > MAX_WINDOW_SPAN_S * SR):
            out.append(cur)
            cur, speech = [], 0
        cur.append((s, e))
        speech += e - s
    if cur:
        out.append(cur)
    return out


def _covered(segs, s: float, e: float) -> bool:
    """Whether decoded words (or confident segment text) cover the chunk s..e seconds."""
    for seg in segs:
        if seg["end"] < s or seg["start"] > e or seg.get("logprob", 0) < LOW_LOGPROB:
            continue
        for w in seg.get("words") or []:
            if w["end"] >= s and w["start"] <= e:
                return True
    return False


def _detect(model, audio, s: int, e: int, detections: list) -> tuple[str, float]:
    b0, b1 = max(0, s - SR // 5), min(len(audio), e + SR // 5)
    lang, p, _ = model.detect_language(audio=audio[b0:b1])
    detections.append({"start": round(b0 / SR, 2), "end": round(b1 / SR, 2), "language": lang,
                       "p": round(float(p), 3), "forced": False})
    return lang, float(p)


def _chunk_languages(model, audio, win, lang: str, detections: list) -> list[str]:
    """An unsure window: the language of each stretch of speech between pauses (stretches
    shorter than MIN_DETECT_S, or not confidently detected, take the one before them)."""
    langs: list[str | None] = []
    for s, e in win:
        if (e - s) / SR >= MIN_DETECT_S:
            other, p = _detect(model, audio, s, e, detections)
            langs.append(other if p >= DETECT_MIN_P else None)
        else:
            langs.append(None)
    fill = next((x for x in langs if x), lang)
    out = []
    for x in langs:
        fill = x or fill
        out.append(fill)
    return out


def _recheck_dropped(model, audio, win, got, lang: str, detections: list) -> list[dict]:
    """A confident window: speech its decoding dropped (or decoded very badly) may be in
    another language; such stretches get their own detection and decoding."""
    spans = []
    for s, e in win:
        if (e - s) / SR >= 0.3 and not _covered(got, s / SR, e / SR):
            if spans and s - spans[-1][1] < SR:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
    for s, e in spans:
        if (e - s) / SR < MIN_DETECT_S:
            continue
        other, p = _detect(model, audio, s, e, detections)
        if other != lang and p >= DETECT_MIN_P:
            b0, b1 = max(0, s - SR // 5), min(len(audio), e + SR // 5)
            redo, _ = _decode(model, audio[b0:b1], b0 / SR, other)
            got = [g for g in got if g["end"] <= b0 / SR or g["start"] >= b1 / SR] + redo
    return sorted(got, key=lambda g: g["start"])


def transcribe(path: str, progress=None, language: str | None = None) -> dict:
    """Transcribe the audio of ``path``; return JSON-able segments with words and language.

    ``language``: a Whisper code to force, or None/"auto" to detect (per window, see above).
    Consecutive windows of one language are decoded in one call (Whisper seeks through
    them itself), so detection costs one encoder pass per window and no more."""
    import numpy as np
    from faster_whisper import decode_audio

    from .asr_models import configured

    model, name = get_model()
    multilingual = model.model.is_multilingual
    if language in (None, "", "auto"):
        source = "detected" if multilingual else "model"
        language = None if multilingual else "en"
    elif not multilingual and language != "en":
        raise ValueError(f"the speech model {configured()[0]} is English-only; it cannot transcribe "
                         f"{language_name(language)} (use BODYCAM_TRANSCRIBE_MODEL=base)")
    else:
        source = "forced"
    audio = decode_audio(path, sampling_rate=SR)
    duration = len(audio) / SR
    chunks = _speech_chunks(audio)
    detections: list[dict] = []
    labelled: list[tuple[tuple[int, int], str]] = []  # each speech chunk with its language
    for win in _windows(chunks):
        if language is not None:
            labelled += [(c, language) for c in win]
            continue
        speech = np.concatenate([audio[s:e] for s, e in win])
        lang, p, _ = model.detect_language(audio=speech)
        detections.append({"start": round(win[0][0] / SR, 2), "end": round(win[-1][1] / SR, 2), "language": lang,
                           "p": round(float(p), 3), "forced": False})
        if p < SURE_P:  # unsure: it may hold two languages
            labelled += list(zip(win, _chunk_languages(model, audio, win, lang, detections)))
        else:
            labelled += [(c, lang) for c in win]
    runs: list[list] = []  # consecutive chunks of one language: [chunks, language]
    for c, lang in labelled:
        if runs and runs[-1][1] == lang:
            runs[-1][0].append(c)
        else:
            runs.append([[c], lang])
    segs: list[dict] = []
    for run, lang in runs:
        a0, a1 = max(0, run[0][0] - SR // 5), min(len(audio), run[-1][1] + SR // 5)
        got, _ = _decode(model, audio[a0:a1], a0 / SR, lang)
        if language is None:
            got = _recheck_dropped(model, audio, run, got, lang, detections)
        segs += [g for g in got if not segs or g["start"] >= segs[-1]["end"] - 0.05]
        if progress and duration:
            progress(min(0.99, a1 / SR / duration))
    speech_by_lang: dict[str, float] = {}
    for s in segs:
        speech_by_lang[s["language"]] = speech_by_lang.get(s["language"], 0) + (s["end"] - s["start"])
    main = max(speech_by_lang, key=speech_by_lang.get) if speech_by_lang else (
        detections[0]["language"] if detections else (language or "en"))
    main_p = max((d["p"] for d in detections if d["language"] == main), default=None)
    return {"model": name, "language": main, "language_probability": main_p,
            "language_source": source,
            "languages": sorted(speech_by_lang, key=speech_by_lang.get, reverse=True),
            "detections": detections, "duration": round(duration, 2),
            "speech_duration": round(sum(e - s for s, e in chunks) / SR, 2), "segments": segs}


def translate(path: str, segments: list[dict], progress=None) -> dict:
    """English translation (Whisper's translate task) of the non-English stretches of the
    audio, as decided by ``segments`` (a transcript's, each with its ``language``).
    Stretches closer than 2 s in the same language are translated together."""
    from faster_whisper import decode_audio

    model, name = get_model()
    if not model.model.is_multilingual:
        raise ValueError("the English-only speech model cannot translate (use BODYCAM_TRANSCRIBE_MODEL=base)")
    spans: list[list] = []
    for s in segments:
        lang = s.get("language") or "en"
        if lang == "en":
            continue
        if spans and spans[-1][2] == lang and s["start"] - spans[-1][1] < 2.0:
            spans[-1][1] = max(spans[-1][1], s["end"])
        else:
            spans.append([s["start"], s["end"], lang])
    out = []
    if spans:
        audio = decode_audio(path, sampling_rate=SR)
        for i, (s, e, lang) in enumerate(spans):
            a0, a1 = max(0, int((s - 0.2) * SR)), min(len(audio), int((e + 0.3) * SR))
            got, _ = _decode(model, audio[a0:a1], a0 / SR, lang, task="translate")
            for g in got:
                g["source_language"] = lang
                g["language"] = "en"
            out += got
            if progress:
                progress((i + 1) / len(spans))
    return {"model": name, "task": "translate", "language": "en", "machine_translation": True,
            "source_languages": sorted({sp[2] for sp in spans}), "segments": out}


def plain_text(segments: list[dict]) -> str:
    return " ".join(s["text"].strip() for s in segments if s.get("text", "").strip())


def _ts(t: float) -> str:
    t = max(0.0, float(t))
    h, rem = divmod(int(round(t * 1000)), 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(segments: list[dict], note: str | None = None) -> str:
    lines = ["WEBVTT", ""]
    if note:  # e.g. "Machine translation ..." (a WebVTT comment block)
        lines += ["NOTE " + note.replace("-->", "->").replace("\n", " "), ""]
    for i, s in enumerate(segments, 1):
        text = s.get("text", "").strip().replace("-->", "->")
        if not text:
            continue
        lines += [str(i), f"{_ts(s['start'])} --> {_ts(s['end'])}", text, ""]
    return "\n".join(lines)


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def normalise_words(text: str) -> list[str]:
    """Words of ``text`` for comparison, in any script: case-folded, Unicode NFC (so "ñ"
    typed or decomposed is the same word), hyphens split, punctuation dropped."""
    text = unicodedata.normalize("NFC", text).casefold().replace("-", " ")
    return [w.replace("’", "'") for w in _WORD.findall(text)]


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
