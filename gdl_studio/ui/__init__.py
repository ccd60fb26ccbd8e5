"""The Qt layer: main window, panels and widgets. Panels only render and forward intents."""
