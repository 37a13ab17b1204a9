"""Import IMS/1EdTech QTI 3.0 and 2.1 items and content packages as Thetapath items (issue 4).

:func:`read_qti` reads one item file (``.xml``), a content package (a folder or a ``.zip`` holding
``imsmanifest.xml``; its ``imsqti_item_xml*`` resources are read in manifest order) or a folder of item
files, and returns a :class:`QtiImport`: the items it could convert, the images they show (as pack
assets) and one :class:`~content.errors.PackIssue` per problem, naming the file (inside the package)
and the line. An item that can't be converted is reported and skipped; the others still import.
:func:`pack_from_qti` wraps the items in a minimal pack (one competency, one module, a lesson stub that
says where the items came from, one item file) that :func:`~content.io.export_pack` writes and
:func:`~content.io.load_pack` reads back equal.

Mapping
=======

================================== ======================================================================
QTI interaction                    Thetapath item
================================== ======================================================================
choiceInteraction, maxChoices 1    ``single_choice``; key = the correct response
choiceInteraction, otherwise       ``multiple_choice``; key = the correct response; ``scoring: partial``
                                   when the item is scored with ``map_response`` and has a mapping
                                   (else ``all_or_nothing``). Weights other than +1 per right option
                                   and -1 per wrong one are approximated (a warning says so)
inlineChoiceInteraction            ``single_choice``; the gap is shown as ``____`` in the stem
textEntryInteraction, string       ``short_text``; ``accepted`` = the correct response(s) and the
                                   mapping's full-credit entries (lower-credit entries are dropped with
                                   a warning); case-sensitive unless every entry used is
                                   case-insensitive (QTI 3 entries default to case-insensitive, 2.1
                                   ones to case-sensitive); the gap is shown as ``____``
textEntryInteraction, float/integer ``numeric``; key = the correct response (or the best mapped value);
                                   tolerance 0, or an ``equal`` with ``toleranceMode`` absolute
                                   (as is) or relative (percent of the key) in the response processing
orderInteraction                   ``ordering`` (all-or-nothing); key = the correct order
matchInteraction                   ``matching``: sources = the first ``simpleMatchSet``, targets = the
                                   second, key = the correct ``directedPair`` values (every source
                                   exactly once); ``scoring: partial`` with ``map_response`` + mapping
extendedTextInteraction            ``reflection`` (never scored)
anything else (hotspot, gapMatch,  an error for that item, naming the file, line and interaction
associate, hottext, graphic*,
slider, upload, drawing, media,
custom, portableCustom, ...)
================================== ======================================================================

- Response processing: the standard templates ``match_correct``, ``map_response`` and
  ``map_response_point`` (and Common Cartridge's ``CC2_match``, ``CC2_match_basic``,
  ``CC2_map_response``) are recognised by the last segment of their URL, for QTI 2.1 and 3.0 alike, and
  never fetched. Inline response processing is recognised when it sets ``SCORE`` only from a match of
  the response with its correct value (as the templates and most authoring tools do), from
  ``mapResponse``, or to 0; anything else is a warning that scoring falls back to the correct response.
- An item has one interaction; an item with several is an error.
- The item body (minus the interaction; a block interaction's ``prompt`` stays in its place) becomes
  Markdown: paragraphs, headings, lists, block quotes, emphasis, links, code, line breaks; tables stay
  HTML (the renderer's allow-list keeps them); MathML becomes TeX between ``$`` (fractions, scripts,
  roots, accents such as x-bar, limits of sums); ``rubricBlock``, feedback and template elements are left
  out.
- Images (``img``, or ``object`` with an image type) become pack assets under ``images/`` (their path
  inside the package kept) when the package holds them as PNG, JPEG, GIF or SVG within the size limit;
  otherwise the alt text stands in their place and a warning says why.
- Feedback: ``modalFeedback`` / ``feedbackBlock`` / ``feedbackInline`` shown when the response is
  (in)correct, or when one option is chosen (a match of the response with that option, or the response
  copied into the feedback outcome, the usual QTI 2.1 way), become ``feedback.correct`` / ``incorrect`` /
  ``options``; any other feedback is left out with a warning.
- Ids: the QTI identifier lower-cased, with runs of other characters than ``[a-z0-9]`` turned into
  ``-`` (``Choicesingle_853928446`` → ``choicesingle-853928446``); a collision gets ``-2``, ``-3``... and
  a warning. :attr:`QtiImport.identifiers` keeps the mapping. Option ids keep ``[A-Za-z0-9_.-]``.
- Items are pilot items (no IRT parameters) of level ``medium`` unless told otherwise.
- Option order: the interaction's ``shuffle`` follows QTI, where it defaults to false: ``shuffle="true"``
  gives ``shuffle: true``; an absent or false ``shuffle`` gives ``shuffle: false`` (the authored order is
  kept). Thetapath pins an item as a whole, so a choice (or match choice) with ``fixed="true"`` makes the
  item ``shuffle: false``.

XML is parsed with defusedxml: a DOCTYPE that names a DTD or declares anything is refused (an error for
that file, at its line), so no entity is ever expanded and nothing is ever fetched; a bare
``<!DOCTYPE assessmentItem>``, which declares nothing (rqti writes one), is accepted. Files are read within
the archive's :class:`~content.archive.Limits` (plus a cap on elements and nesting depth per file).
Malformed XML is an error naming the file, line and column. In a folder or zip without a manifest, XML
files that are not items (a test, QTI 1.2) are skipped with a warning. Paths in hrefs and ``src`` are
URLs: ``%20`` and the like are decoded.

The modules, each building only on those below it::

    pack.py        pack_from_qti: the items in a minimal pack that validates and round-trips
    read.py        read_qti and QtiImport: every item of a source, its images and every issue
    items.py       one assessmentItem -> one Item: the checks, the interaction -> type, key, scoring,
                   shuffle, the feedback it can map, ids
    images.py      img / object -> a pack asset under images/, or the alt text and a warning
    package.py     the source (item file, bytes, folder, zip) within the limits, imsmanifest.xml,
                   the context of one file being read
    responses.py   response declarations (key, mapping) and response processing (templates, inline
                   rules, tolerance, feedback triggers), recognised and never run
    markdown.py    XHTML (body, choice, feedback) -> Markdown; tables stay HTML
    mathml.py      MathML -> TeX
    xmlsafe.py     bytes -> a tree of nodes with lines and QTI 2.1-style names; DTDs, entities, huge or
                   malformed files refused
"""

from __future__ import annotations

from .pack import pack_from_qti
from .package import QtiSource
from .read import QtiImport, read_qti

__all__ = ["QtiImport", "QtiSource", "pack_from_qti", "read_qti"]
