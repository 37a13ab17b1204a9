"""Background jobs: one mechanism for everything done outside a request (see ``services``, ``workers``).

Calibration, credential issuance, grade passback and xAPI delivery are all kinds of job: a module
registers its handler with ``services.job_kind`` and asks for work with ``services.enqueue``; pages
show a job's progress with the ``jobs/_progress.html`` fragment.
"""

from .views import bp

__all__ = ["bp"]
