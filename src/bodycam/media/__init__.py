"""Media handling through PyAV (bundled FFmpeg): probing now; proxies, thumbnails,
transcripts and redaction as jobs later."""
