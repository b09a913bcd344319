"""bodycam: an open-source body-worn-camera evidence system."""

__version__ = "0.1.0"
