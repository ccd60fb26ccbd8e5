"""The Sketch panel's pieces: the drawing document, the canvas, undo commands, the endings view
and the engine jobs that draw with an ink model (see :mod:`gdl_studio.ui.sketch.panel`)."""
