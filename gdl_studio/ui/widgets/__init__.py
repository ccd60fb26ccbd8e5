"""Small self-contained widgets that take and emit plain values (no panel state)."""
