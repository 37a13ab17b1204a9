"""The catalogue, modules and lessons."""

from .views import bp

__all__ = ["bp"]
