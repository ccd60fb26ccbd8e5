"""Sketch: pen-stroke models (VRNN-GMM and an RNN-GMM baseline) trained on KanjiVG.

Headless core used by the Canvas panel and the CLI (nothing here imports Qt):

* :mod:`~gdl_studio.ink.svgio` — SVG → strokes (any SVG, mapped onto the 109 × 109 KanjiVG box),
  strokes → SVG / JSON points (atomic writes).
* :mod:`~gdl_studio.ink.strokes` — strokes ↔ stroke-3 rows, RDP simplification of primers.
* :mod:`~gdl_studio.ink.rdp` — vectorised Ramer–Douglas–Peucker.
* :mod:`~gdl_studio.ink.dataset` — ``gdl-studio data ink``: the ``.npz`` cache and the fixed split.
* :mod:`~gdl_studio.ink.models` / :mod:`~gdl_studio.ink.gmm` — the networks and their output density.
* :mod:`~gdl_studio.ink.models_io` — ``load_ink_model("vrnn" | "rnn-gmm")`` through the registry.
* :mod:`~gdl_studio.ink.sampling` — ``generate(...)``: an iterator of absolute points, one per
  ``next()``, cancellable by not pulling; :mod:`~gdl_studio.ink.fast_step` runs the steps in numpy.
* :mod:`~gdl_studio.ink.train`, :mod:`~gdl_studio.ink.evaluate`, :mod:`~gdl_studio.ink.bench`.

Typical use from the app::

    from gdl_studio.ink.models_io import load_ink_model
    model = load_ink_model("vrnn")                    # ModelUnavailable if not installed
    for p in model.generate(primer=strokes, temperature=0.7, seed=1, max_strokes=2):
        canvas.add_point(p.x, p.y, p.pen_up)          # KanjiVG units, y down

``strokes`` is a list of ``(N, 2)`` arrays in KanjiVG units (the canvas's 109-unit guide box);
bad input (blank canvas, non-finite points, an over-long primer) raises ``UserError`` on the
first ``next()`` — call :func:`gdl_studio.ink.sampling.prepare` to check eagerly.
"""
