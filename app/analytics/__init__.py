"""Item and learner analytics for instructors, computed by background jobs and kept per pack version."""

from .views import bp

__all__ = ["bp"]
