"""Learning paths in the app: the learner model from stored evidence and the recommendations it gives.

No pages of its own: the assessment (``app.assess``) records the evidence, the learner pages
(``app.learn``) show the paths; both import :mod:`app.pathing.services`, which imports neither.
"""
