"""Verifiable micro-credentials: Open Badges 3.0 credentials signed with Data Integrity proofs."""
