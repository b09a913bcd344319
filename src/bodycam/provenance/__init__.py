"""Hashing, manifests and signatures shared by the device and the server (no Django here)."""
