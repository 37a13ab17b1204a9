"""Response data: selecting the responses to some items."""

from __future__ import annotations

from adaptive import ResponseData


def test_select_items_keeps_order_and_drops_learners_without_those_items() -> None:
    data = ResponseData.from_records([("a", "i1", 1), ("a", "i2", 0), ("b", "i2", 1), ("c", "i3", 1),
                                      ("d", "i1", 0)])
    picked = data.select_items(["i3", "i2", "nope"])
    assert picked.learners == ("a", "b", "c") and picked.items == ("i2", "i3")
    assert [(picked.learners[p], picked.items[i], int(s))
            for p, i, s in zip(picked.person, picked.item, picked.score, strict=True)] == [
        ("a", "i2", 0), ("b", "i2", 1), ("c", "i3", 1)]
    assert data.select_items([]).n_responses == 0
