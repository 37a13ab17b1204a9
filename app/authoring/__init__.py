"""Instructors' content management: import content packs."""

from .views import bp

__all__ = ["bp"]
