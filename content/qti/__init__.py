"""Import IMS/1EdTech QTI 3.0 and 2.1 items and content packages as Thetapath items (issue 4).

:func:`read_qti` reads an item file, a content package (folder or zip with ``imsmanifest.xml``) or a
folder of item files into a :class:`QtiImport`; :func:`pack_from_qti` wraps the items in a minimal
pack. The importer lives in :mod:`content.qti.items` until it is split by concern.
"""

from __future__ import annotations

from .items import QtiImport, QtiSource, pack_from_qti, read_qti

__all__ = ["QtiImport", "QtiSource", "pack_from_qti", "read_qti"]
