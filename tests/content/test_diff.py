"""What changed between two versions of a pack, on the demo pack and edited copies of it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from content import ContentPack, IrtParameters, diff_packs, load_pack

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"


@pytest.fixture(scope="module")
def pack() -> ContentPack:
    return load_pack(DEMO)


def test_a_pack_against_itself_has_no_change(pack: ContentPack) -> None:
    diff = diff_packs(pack, replace(pack, version="1.0.1"))
    assert diff.changes == () and diff.summary == "no change"
    assert (diff.old_version, diff.new_version) == ("1.0.0", "1.0.1")


def test_every_kind_of_change_is_named(pack: ContentPack) -> None:
    first, second, third, *rest = pack.items
    calibrated = next(i for i in rest if i.irt is not None and not i.irt.thresholds)
    edited_stem = replace(second, stem="A clearer question?")
    recalibrated = replace(calibrated, irt=IrtParameters(model=calibrated.irt.model, a=2.0, b=0.5))  # type: ignore[union-attr]
    new_item = replace(first, id="brand-new", stem="Something new")
    items = [edited_stem, third, new_item,
             *(recalibrated if i.id == calibrated.id else i for i in rest)]
    module = pack.modules[0]
    lessons = (replace(module.lessons[0], markdown=module.lessons[0].markdown + "\nMore."),
               *module.lessons[1:])
    modules = (replace(module, title="Renamed module", lessons=lessons), *pack.modules[1:])
    competencies = (*pack.competencies, replace(pack.competencies[0], id="new-competency", title="New one"))
    new = replace(pack, version="1.1.0", items=tuple(items), modules=modules, competencies=competencies)

    diff = diff_packs(pack, new)
    found = {(c.what, c.how, c.id) for c in diff.changes}
    assert ("item", "removed", first.id) in found
    assert ("item", "added", "brand-new") in found
    assert ("item", "edited", second.id) in found
    assert ("item", "parameters changed", calibrated.id) in found
    assert ("item", "edited", calibrated.id) not in found  # only its parameters changed
    assert ("module", "edited", module.id) in found
    assert ("lesson", "edited", f"{module.id}/{module.lessons[0].path}") in found
    assert ("competency", "added", "new-competency") in found
    assert len(diff.changes) == 7
    edited = next(c for c in diff.changes if c.id == second.id)
    assert edited.detail == "stem changed" and edited.title == "A clearer question?"
    params = next(c for c in diff.changes if c.how == "parameters changed")
    assert params.detail.endswith("→ " + f"{calibrated.irt.model} a=2, b=0.5")  # type: ignore[union-attr]
    assert next(c for c in diff.changes if c.what == "module").detail == "title changed"
    assert diff.summary == ("competencies: 1 added; modules: 1 edited; lessons: 1 edited; "
                            "items: 1 added, 1 removed, 1 edited, 1 parameters changed")
    assert diff.count("item", "added") == 1
