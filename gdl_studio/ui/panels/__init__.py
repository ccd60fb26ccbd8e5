"""The three panels: Compose, Sketch and Dream."""
