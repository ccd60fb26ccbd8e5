"""Controls the panels share: the model picker, the eliding label, the flow layout, and small
self-contained controls that take and emit plain values (instrument, sync).
"""
