"""Thetapath's application layer: the ``thetapath`` command line (and, next, the Flask web app).

It wires files, the terminal and (later) HTTP and the database to the pure engine in ``adaptive`` and
the pack format in ``content``.
"""
