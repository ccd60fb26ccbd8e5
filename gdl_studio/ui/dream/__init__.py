"""Pieces of the Dream panel: engine jobs (plain Python), keyboard driving, frame views, plots."""
