"""The content-pack format (issue 4): read, validate and normalise packs.

Never imports flask or sqlalchemy.
"""
