"""The inference engine: a plain-Python scheduler (``core``) and its Qt worker (``worker``)."""

from gdl_studio.engine.core import EngineCore, JobContext, JobError, JobFinished, Request, Sleep

__all__ = ["EngineCore", "Request", "Sleep", "JobContext", "JobFinished", "JobError"]
