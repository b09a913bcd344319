"""Typed settings (bodycam.config): every BODYCAM_* variable declared once, checked at start.

A bad value or an unknown BODYCAM_* name is one line naming the variable (the CLI exits 2,
`bodycam serve` does not start); `bodycam config show` masks secrets; docs/settings.md is
generated from the declaration; no app keeps a default of its own (getattr(settings, X, d)).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bodycam import config
from bodycam.config import SettingError, load

from .live import free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path, **extra) -> dict:
    """The process environment without any BODYCAM_* of this test run, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BODYCAM_")}
    env.update({"BODYCAM_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT / "src")}, **extra)
    return env


def _bodycam(tmp_path, *args, timeout=120, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bodycam.cli", *args], env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=timeout)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------ the CLI's one line


def test_bad_int_is_one_line_naming_the_variable_exit_2(tmp_path):
    res = _bodycam(tmp_path, "evidence", "list", BODYCAM_LOGIN_RATE="ten")
    assert res.returncode == 2, res.stderr
    line = _one_line(res.stderr)
    assert line == "bodycam: error: BODYCAM_LOGIN_RATE must be a whole number (got 'ten')"
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_serve_refuses_to_start_on_a_bad_value(tmp_path):
    res = _bodycam(tmp_path, "serve", "--port", str(free_port()), "--no-worker", BODYCAM_JOB_TIME_LIMIT="1h")
    assert res.returncode == 2, res.stderr
    assert "BODYCAM_JOB_TIME_LIMIT must be a whole number" in _one_line(res.stderr)
    assert "serving" not in res.stdout


def test_misspelt_name_is_refused_with_the_closest_name(tmp_path):
    res = _bodycam(tmp_path, "evidence", "list", BODYCAM_S3_RETENTON_DAYS="30")
    assert res.returncode == 2, res.stderr
    assert _one_line(res.stderr) == ("bodycam: error: BODYCAM_S3_RETENTON_DAYS is not a setting; "
                                     "did you mean BODYCAM_S3_RETENTION_DAYS?")


def test_misspelt_name_refused_in_process():
    with pytest.raises(SettingError, match=r"^BODYCAM_JOBS_INLNE is not a setting; did you mean BODYCAM_JOBS_INLINE\?$"):
        load({"BODYCAM_JOBS_INLNE": "1"})
    with pytest.raises(SettingError, match=r"BODYCAM_ZZZ is not a setting; see docs/settings.md"):
        load({"BODYCAM_ZZZ": "1"})
    load({"OTHER_VAR": "x", "DJANGO_SETTINGS_MODULE": "bodycam.settings"})  # not ours: ignored


@pytest.mark.parametrize(("name", "raw", "reason"), [
    ("BODYCAM_S3_PART_MB", "0", "must be at least 1 (got 0)"),
    ("BODYCAM_S3_RETENTION_DAYS", "-1", "must be at least 0 (got -1)"),
    ("BODYCAM_SIGNAL_PORT", "70000", "must be at most 65535 (got 70000)"),
    ("BODYCAM_MAX_CONCURRENT_UPLOADS", "0", "must be at least 1 (got 0)"),
    ("BODYCAM_JOB_RETRY_BASE", "-0.5", "must be at least 0 (got -0.5)"),
    ("BODYCAM_ORPHAN_GRACE_DAYS", "nan", "must be a finite number (got 'nan')"),
    ("BODYCAM_LOG_FORMAT", "xml", "must be one of text, json (got 'xml')"),
    ("BODYCAM_MEDIA_DEVICE", "gpu", "must be one of auto, cpu, cuda (got 'gpu')"),
    ("BODYCAM_DATABASE_URL", "mysql://db/x", "must be a sqlite:// or postgres:// or postgresql:// URL"),
    ("BODYCAM_STORAGE_URL", "/srv/objects", "must be a s3:// or file:// URL"),
    ("BODYCAM_S3_ENDPOINT_URL", "https://", "must be an http:// or https:// URL with a host"),
])
def test_out_of_range_or_wrong_type_refused(name, raw, reason):
    with pytest.raises(SettingError) as err:
        load({name: raw})
    assert str(err.value).startswith(f"{name} {reason}")


def test_url_errors_do_not_print_the_password():
    with pytest.raises(SettingError) as err:
        load({"BODYCAM_DATABASE_URL": "mysql://root:hunter2@db/x"})
    assert "hunter2" not in str(err.value) and "root:********@db" in str(err.value)


@pytest.mark.parametrize(("raw", "value"), [
    ("1", True), ("0", False), ("true", True), ("FALSE", False), ("Yes", True), ("no", False), (" 1 ", True),
])
def test_booleans_accept_the_usual_spellings(raw, value):
    assert load({"BODYCAM_SECURE_COOKIES": raw})["BODYCAM_SECURE_COOKIES"] is value
    assert load({"BODYCAM_MEDIA_AUTO_PLAYBACK": raw})["BODYCAM_MEDIA_AUTO_PLAYBACK"] is value


@pytest.mark.parametrize("raw", ["on", "off", "2", "y", "enabled"])
def test_booleans_refuse_anything_else(raw):
    with pytest.raises(SettingError, match=rf"^BODYCAM_JOBS_INLINE must be 1/0, true/false or yes/no \(got '{raw}'\)$"):
        load({"BODYCAM_JOBS_INLINE": raw})


def test_empty_means_the_default_and_sources_say_where_a_value_came_from():
    cfg = load({"BODYCAM_MEDIA_AUTO_PLAYBACK": "", "BODYCAM_LOGIN_RATE": "7", "BODYCAM_BANNER": ""})
    assert cfg["BODYCAM_MEDIA_AUTO_PLAYBACK"] is True and cfg.sources["BODYCAM_MEDIA_AUTO_PLAYBACK"] == "default"
    assert cfg["BODYCAM_LOGIN_RATE"] == 7 and cfg.sources["BODYCAM_LOGIN_RATE"] == "environment"
    assert cfg["BODYCAM_BANNER"] == ""  # an agency may turn the banner off, as before


def test_one_setting_for_a_silent_camera_and_the_old_name_still_read():
    """BODYCAM_CAMERA_STALE_DAYS drives the cameras page, the custody alert and the mail; the
    notifications' old BODYCAM_NOTIFY_UNDOCKED_DAYS is read only when the new name is not set."""
    assert load({})["BODYCAM_CAMERA_STALE_DAYS"] == 7
    assert load({"BODYCAM_NOTIFY_UNDOCKED_DAYS": "12"})["BODYCAM_CAMERA_STALE_DAYS"] == 12
    both = load({"BODYCAM_NOTIFY_UNDOCKED_DAYS": "12", "BODYCAM_CAMERA_STALE_DAYS": "3"})
    assert both["BODYCAM_CAMERA_STALE_DAYS"] == 3 and both.sources["BODYCAM_CAMERA_STALE_DAYS"] == "environment"
    with pytest.raises(SettingError, match="BODYCAM_NOTIFY_UNDOCKED_DAYS must be at least 1"):
        load({"BODYCAM_NOTIFY_UNDOCKED_DAYS": "0"})


def test_device_side_reads_its_own_settings_checked():
    assert config.env_value("BODYCAM_SIGNAL_PORT", {}) == 47099
    assert config.env_value("BODYCAM_SIGNAL_PORT", {"BODYCAM_SIGNAL_PORT": "5000"}) == 5000
    with pytest.raises(SettingError, match="BODYCAM_SIGNAL_PORT must be a whole number"):
        config.env_value("BODYCAM_SIGNAL_PORT", {"BODYCAM_SIGNAL_PORT": "x"})


# ------------------------------------------------------------------ config show


def test_config_show_masks_secrets_and_says_where_each_value_came_from(tmp_path):
    secrets = {"BODYCAM_SECRET_KEY": "django-secret-value-123", "BODYCAM_METRICS_TOKEN": "scrape-token-456",
               "BODYCAM_S3_SECRET_ACCESS_KEY": "s3-secret-789", "BODYCAM_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
               "BODYCAM_DATABASE_URL": "postgresql://bodycam:db-password-0@db.internal:5432/bodycam",
               "BODYCAM_BROKER_URL": "redis://:redis-password-1@redis.internal:6379/0"}
    res = _bodycam(tmp_path, "config", "show", BODYCAM_LOGIN_RATE="12", **secrets)
    assert res.returncode == 0, res.stderr
    for value in ("django-secret-value-123", "scrape-token-456", "s3-secret-789", "AKIAEXAMPLE", "db-password-0",
                  "redis-password-1"):
        assert value not in res.stdout
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in res.stdout.splitlines()}
    assert rows["BODYCAM_SECRET_KEY"] == ["environment", "********"]
    assert rows["BODYCAM_METRICS_TOKEN"] == ["environment", "********"]
    assert rows["BODYCAM_DATABASE_URL"] == ["environment", "postgresql://bodycam:********@db.internal:5432/bodycam"]
    assert rows["BODYCAM_BROKER_URL"] == ["environment", "redis://:********@redis.internal:6379/0"]
    assert rows["BODYCAM_LOGIN_RATE"] == ["environment", "12"]
    assert rows["BODYCAM_MFA_RATE"] == ["default", "10"]
    assert set(rows) == set(config.BY_NAME)

    res = _bodycam(tmp_path, "config", "show", "--json", **secrets)
    shown = {row["name"]: row for row in json.loads(res.stdout)}
    assert shown["BODYCAM_S3_SECRET_ACCESS_KEY"] == {"name": "BODYCAM_S3_SECRET_ACCESS_KEY", "value": "********",
                                                    "source": "environment"}
    assert "s3-secret-789" not in res.stdout


# ------------------------------------------------------------------ one declaration, one default


def test_docs_table_matches_the_declaration(tmp_path):
    committed = (ROOT / "docs/settings.md").read_text()
    assert committed == config.reference(), "docs/settings.md is stale: run `bodycam config docs > docs/settings.md`"
    res = _bodycam(tmp_path, "config", "docs")
    assert res.returncode == 0 and res.stdout == committed
    for s in config.SETTINGS:
        assert f"| `{s.name}` |" in committed


def test_no_app_keeps_a_default_of_its_own():
    """Each setting has one default, in bodycam.config: no getattr(settings, "X", default)."""
    pattern = re.compile(r"getattr\(\s*[\w.]*settings\w*\s*,|getattr\(\s*s\s*,\s*\"[A-Z]")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "src/bodycam").rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "settings read with a default of their own:\n" + "\n".join(found)


def test_environment_is_read_only_through_the_declaration():
    """No module but bodycam.config reads a BODYCAM_* variable (settings, server, cli, device)."""
    pattern = re.compile(r"(environ(\.get)?\s*[\[(]|getenv\()\s*['\"]BODYCAM_")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "src/bodycam").rglob("*.py") if p.name != "config.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "\n".join(found)


def test_every_name_the_project_sets_is_declared():
    """Nothing that works today is refused: every BODYCAM_* name in src, tests, scripts, deploy
    and docs is a declared setting."""
    names: set[str] = set()
    for folder in ("src", "tests", "scripts", "deploy", "docs", ".ci"):
        for p in (ROOT / folder).rglob("*"):
            if p.is_file() and p.suffix not in (".pyc", ".png", ".mp4", ".jpg") and p.name != "test_config.py":
                names |= set(re.findall(r"\b(BODYCAM_[A-Z0-9_]*[A-Z0-9])\b", p.read_text(errors="replace")))
    prefixes = {"BODYCAM_SIGNAL", "BODYCAM_S3"}  # prefixes named in prose and filters
    assert names - prefixes - set(config.BY_NAME) == set()


def test_transcribe_model_choices_are_the_shipped_models():
    from bodycam.media.asr_models import MODELS

    assert set(config.BY_NAME["BODYCAM_TRANSCRIBE_MODEL"].choices) == set(MODELS)


@pytest.mark.catalogue
def test_django_settings_are_the_declared_values(tmp_path):
    """settings.py produces the same Django values as before from the typed declaration."""
    script = ("import json; from bodycam import settings as s; print(json.dumps({k: getattr(s, k) for k in "
              "['DEBUG', 'ALLOWED_HOSTS', 'SESSION_IDLE_SECONDS', 'LOGIN_RATE', 'S3_OPTIONS', 'JOBS_INLINE', "
              "'MEDIA_AUTO_PLAYBACK', 'TRANSCRIBE_LANGUAGE', 'JOB_RETRY_BASE_SECONDS', 'AUDIT_WITNESS_FILE', "
              "'DATABASES', 'SECURE_PROXY_SSL_HEADER', 'LOG_FORMAT']"
              " if hasattr(s, k)}, default=str))")
    db_url = os.environ.get("BODYCAM_DATABASE_URL", "")  # the PostgreSQL pass's database, or SQLite
    extra = {"BODYCAM_DATABASE_URL": db_url} if db_url else {}
    env = _env(tmp_path, BODYCAM_DEBUG="1", BODYCAM_ALLOWED_HOSTS="a.example,,b.example", BODYCAM_LOGIN_RATE="7",
               BODYCAM_S3_PART_MB="16", BODYCAM_S3_LEGAL_HOLD="1", BODYCAM_JOBS_INLINE="0",
               BODYCAM_MEDIA_AUTO_PLAYBACK="0", BODYCAM_TRANSCRIBE_LANGUAGE=" ES ", BODYCAM_JOB_RETRY_BASE="0.5",
               BODYCAM_TRUST_X_FORWARDED_PROTO="1", BODYCAM_SECRET_KEY="k" * 50, **extra)
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    data = (tmp_path / "data").resolve()
    assert got["DEBUG"] is True and got["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert got["SESSION_IDLE_SECONDS"] == 1800 and got["LOGIN_RATE"] == [7, 60]
    assert got["S3_OPTIONS"] == {"endpoint_url": "", "region": "us-east-1", "access_key": "", "secret_key": "",
                                 "part_size": 16 * 1024 * 1024, "retention_days": 365, "legal_hold": True}
    assert got["JOBS_INLINE"] is False and got["MEDIA_AUTO_PLAYBACK"] is False
    assert got["TRANSCRIBE_LANGUAGE"] == "es" and got["JOB_RETRY_BASE_SECONDS"] == 0.5
    assert got["AUDIT_WITNESS_FILE"] == str(data.parent / "data-witness" / "audit-witness.jsonl")
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"] and got["LOG_FORMAT"] == "text"
    from bodycam.settings import database_from_url

    expected_db = database_from_url(db_url or f"sqlite:///{data / 'bodycam.sqlite3'}")
    assert got["DATABASES"]["default"] == json.loads(json.dumps(expected_db, default=str))
