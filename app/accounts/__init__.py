"""Accounts: sign-up, sign-in, sign-out."""

from .views import bp

__all__ = ["bp"]
