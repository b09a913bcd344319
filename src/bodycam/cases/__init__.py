"""Cases: an investigation, the recordings linked to it and its other files (case membership).

Who may see a case's recordings is decided in ``bodycam.access``; retention of case
recordings in ``bodycam.retention``; sharing a case in ``bodycam.release``."""
