"""Engine adapters: the plain-Python jobs that turn the areas' models into the item streams the
panels show (no Qt here).

A job is ``job(ctx) -> iterator`` (see :mod:`gdl_studio.engine.core`). What every panel's job
shares — :class:`~gdl_studio.jobs.common.ModelReady` / :class:`~gdl_studio.jobs.common.ModelProblem`
first, then results, paced so the GUI and the other panels keep their share — is in
:mod:`~gdl_studio.jobs.common`; one module per panel holds the rest:
:mod:`~gdl_studio.jobs.compose` (music composers: continuation, jam answers),
:mod:`~gdl_studio.jobs.sketch` (ink models: Extend, Endings, Dream up),
:mod:`~gdl_studio.jobs.dream` (the World Model driving, in the real game or in its dream).
"""
