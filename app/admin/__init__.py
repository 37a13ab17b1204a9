"""Institution administration: members and their roles, invitations, and joining by invitation."""

from .views import bp

__all__ = ["bp"]
