"""Export in canonical form and import again: an equal ContentPack and an equal content hash."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from content import canonical_files, check_pack, content_hash, export_pack, load_pack

from .packs import base_files, generated_files, write_folder, zip_bytes


@pytest.fixture(scope="module")
def rich() -> dict[str, bytes]:
    return generated_files(n_modules=4, items_per_module=40)


def test_the_generated_pack_is_valid(rich: dict[str, bytes]) -> None:
    result = check_pack(zip_bytes(rich))
    assert result.errors == (), [str(i) for i in result.errors]
    assert result.pack is not None and len(result.pack.items) == 160


def test_export_to_a_folder_reimports_to_an_identical_pack(rich: dict[str, bytes], tmp_path: Path) -> None:
    pack = load_pack(zip_bytes(rich))
    out = export_pack(pack, tmp_path / "out")
    again = load_pack(out)
    assert again == pack
    assert again.content_hash == pack.content_hash
    assert canonical_files(again) == canonical_files(pack)  # canonical form is a fixed point


def test_export_to_a_zip_reimports_to_an_identical_pack(rich: dict[str, bytes], tmp_path: Path) -> None:
    pack = load_pack(write_folder(tmp_path / "src", rich))
    out = export_pack(pack, tmp_path / "out.zip")
    assert load_pack(out) == pack
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == sorted(archive.namelist())
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    # a second export of the same content is byte-identical (reproducible archives)
    assert export_pack(load_pack(out), tmp_path / "again.zip").read_bytes() == out.read_bytes()


def test_the_base_pack_round_trips_too(tmp_path: Path) -> None:
    pack = load_pack(zip_bytes(base_files()))
    assert load_pack(export_pack(pack, tmp_path / "out")) == pack


def test_the_content_hash_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    files = base_files()
    pack = load_pack(zip_bytes(files))
    reformatted = {**files, "pack.yaml": files["pack.yaml"].replace(b"prerequisites: []",
                                                                    b"prerequisites:   [ ]  # none")}
    assert load_pack(zip_bytes(reformatted)).content_hash == pack.content_hash
    changed = {**files, "pack.yaml": files["pack.yaml"].replace(b"title: Basics", b"title: Basic")}
    assert load_pack(zip_bytes(changed)).content_hash != pack.content_hash
    assert content_hash(replace(pack, version="1.2.1")) != pack.content_hash
    assert len(pack.content_hash) == 64


def test_export_refuses_to_overwrite(tmp_path: Path) -> None:
    pack = load_pack(zip_bytes(base_files()))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        export_pack(pack, tmp_path / "full")
    (tmp_path / "taken.zip").write_bytes(b"")
    with pytest.raises(FileExistsError):
        export_pack(pack, tmp_path / "taken.zip")
    assert export_pack(pack, tmp_path / "empty-ok").is_dir()


def test_every_item_becomes_a_valid_engine_item(rich: dict[str, bytes]) -> None:
    from adaptive import ItemBank

    pack = load_pack(zip_bytes(rich))
    scored = [item for item in pack.items if item.max_score > 0]
    bank = ItemBank.from_items(item.parameters() for item in scored)
    assert len(bank) == len(scored)
    assert list(bank.max_score) == [item.max_score for item in scored]
    assert bank.pilot.sum() == sum(1 for item in scored if item.pilot)
    partial_pilot = next(i for i in scored if i.pilot and i.max_score > 1)
    params = partial_pilot.parameters()
    assert params.model == "gpcm" and len(params.thresholds) == partial_pilot.max_score
