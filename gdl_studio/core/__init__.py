"""Headless core shared by every area: model registry, benchmarking, small utilities.

Nothing under ``gdl_studio.core`` imports Qt.
"""
