"""The adaptive assessment of a module."""

from .views import bp

__all__ = ["bp"]
