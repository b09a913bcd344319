"""The camera and the dock: recording with a pre-event buffer, activation triggers, signed
clips, device storage, and resumable upload through the Axis/Swift API.

Runs on the device side: nothing in this package imports Django.
"""
