"""The inference engine: a plain-Python scheduler (``core``) and its Qt worker (``worker``)."""

from gdl_studio.engine.core import EngineCore, Request, Sleep, JobContext, JobFinished, JobError

__all__ = ["EngineCore", "Request", "Sleep", "JobContext", "JobFinished", "JobError"]
