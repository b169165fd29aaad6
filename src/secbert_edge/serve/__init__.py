"""`secbert-edge serve`: the guard as an HTTP service with dynamic micro-batching (the `serve` extra)."""

from .config import ServeConfig

__all__ = ["ServeConfig", "create_app", "run"]


def __getattr__(name: str):  # the app and server import the extra's packages late, with an install hint
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "run":
        from .server import run

        return run
    raise AttributeError(name)
