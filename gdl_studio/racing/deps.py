"""Checks for the optional simulator dependencies (gymnasium, Box2D, pygame).

The world model itself needs only torch and numpy; driving the real CarRacing game needs
gymnasium with Box2D and pygame. A missing one raises :class:`MissingDependency` with the exact
install step, never a bare ImportError.
"""

from __future__ import annotations

import importlib
import os

from gdl_studio.core.errors import UserError

INSTALL_HINT = (
    'install it with: pip install "gymnasium[box2d]>=1.0" pygame  '
    "(Box2D needs the box2d wheel; on old pips also `pip install swig` first)"
)


class MissingDependency(UserError, ImportError):
    """A package needed to run the CarRacing simulator is not installed."""


def require_simulator() -> None:
    """Import gymnasium, Box2D and pygame, or raise :class:`MissingDependency` naming the fix."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    for module, package in (("Box2D", "box2d"), ("pygame", "pygame"), ("gymnasium", "gymnasium")):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingDependency(
                f"the CarRacing simulator needs {package} ({module} could not be imported: {exc}); {INSTALL_HINT}"
            ) from None
    try:
        importlib.import_module("gymnasium.envs.box2d.car_racing")
    except ImportError as exc:
        raise MissingDependency(f"gymnasium's CarRacing could not be loaded ({exc}); {INSTALL_HINT}") from None
    except Exception as exc:  # gymnasium raises DependencyNotInstalled (an ImportError subclass in 1.x)
        raise MissingDependency(f"gymnasium's CarRacing could not be loaded ({exc}); {INSTALL_HINT}") from None


def simulator_available() -> bool:
    """True when gymnasium, Box2D and pygame import."""
    try:
        require_simulator()
    except MissingDependency:
        return False
    return True
