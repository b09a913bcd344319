"""Camera identity and recording settings, kept in ``DIR/device.json``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from ..errors import BodycamError
from ..numbers import parse_uuid
from .storage import DeviceStorage, read_json, write_json_atomic

SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}$")
MAX_BUFFER_SECONDS = 120


class ConfigError(BodycamError, ValueError):
    pass


@dataclass
class DeviceConfig:
    serial: str = "BWC-0001"
    user_id: str = ""                 # Axis user UUID of the officer assigned to the camera
    model: str = "bodycam-1"
    firmware: str = "bodycam-0.1"
    time_zone: str = "UTC"
    kind: str = "body"                # body | vehicle
    groups: list[str] = field(default_factory=list)   # vehicles/units whose signals this camera obeys
    # encoding
    width: int = 1280
    height: int = 720
    fps: int = 30
    bitrate: int = 4_000_000
    keyframe_interval_s: float = 1.0
    audio: bool = True
    audio_bitrate: int = 64_000
    container_type: str = "mp4"       # mp4 (fragmented) | mkv
    # pre-event buffer
    buffer_seconds: float = 30.0
    buffer_max_bytes: int = 64 * 1024 * 1024
    buffer_audio: bool = False
    # clips
    clip_seconds: float = 300.0
    gnss_interval_s: float = 1.0
    # live view (device/live.py): the server to stream to while recording ("" = none)
    live_url: str = ""
    live_position_interval_s: float = 10.0

    def validate(self) -> "DeviceConfig":
        if not SERIAL_RE.match(self.serial):
            raise ConfigError("serial must be 1-64 letters, digits, '.', '-' or '_'")
        if self.user_id:
            user_id = parse_uuid(self.user_id)
            if user_id is None:
                raise ConfigError("user id must be a UUID (the Axis user id)")
            self.user_id = str(user_id)
        if not 0 <= self.buffer_seconds <= MAX_BUFFER_SECONDS:
            raise ConfigError(f"pre-event buffer must be 0-{MAX_BUFFER_SECONDS} s")
        if self.buffer_max_bytes < 64 * 1024:
            raise ConfigError("buffer byte limit must be at least 64 KiB")
        if self.container_type not in ("mp4", "mkv"):
            raise ConfigError("container type must be mp4 or mkv")
        if not (16 <= self.width <= 7680 and 16 <= self.height <= 4320) or self.width % 2 or self.height % 2:
            raise ConfigError("resolution must be even and between 16x16 and 7680x4320")
        if not 1 <= self.fps <= 120:
            raise ConfigError("frame rate must be 1-120")
        if not 0.1 <= self.keyframe_interval_s <= 10:
            raise ConfigError("keyframe interval must be 0.1-10 s")
        if self.clip_seconds < 2 * self.keyframe_interval_s or self.clip_seconds < 2:
            raise ConfigError("clip length must be at least 2 s and two keyframe intervals")
        if self.bitrate < 16_000:
            raise ConfigError("bitrate must be at least 16 kbit/s")
        if self.live_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", self.live_url):
            raise ConfigError("live URL must be http(s)://host[:port] of the bodycam server")
        if not 1 <= self.live_position_interval_s <= 3600:
            raise ConfigError("live position interval must be 1-3600 s")
        return self

    @property
    def gop(self) -> int:
        return max(1, round(self.keyframe_interval_s * self.fps))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DeviceConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown device settings: {', '.join(sorted(unknown))}")
        return cls(**data).validate()


def load_config(storage: DeviceStorage, **overrides) -> DeviceConfig:
    """device.json merged with overrides (None values ignored); saved back when it changed."""
    stored = read_json(storage.config_path, {}) or {}
    merged = {**stored, **{k: v for k, v in overrides.items() if v is not None}}
    config = DeviceConfig.from_dict(merged)
    if config.to_dict() != stored:
        storage.ensure()
        write_json_atomic(storage.config_path, config.to_dict())
    return config
