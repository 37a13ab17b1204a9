"""A new version of a known pack is shown with what changed and its warnings before anything is
stored; the instructor stores or discards it; attempts under way finish on the version they began."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Attempt, ModuleRow, PackVersion, PendingImport, Role
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"


def _zipped(folder: Path) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    buffer.seek(0)
    return buffer


def _upload(client: FlaskClient, folder: Path) -> object:
    return client.post("/author/packs", data={"archive": (_zipped(folder), "pack.zip")},
                       content_type="multipart/form-data")


def _changed_copy(tmp_path: Path) -> Path:
    """Version 1.1.0: one item's stem reworded, another's parameters recalibrated."""
    copy = tmp_path / "data-literacy"
    shutil.copytree(DEMO, copy)
    pack_yaml = copy / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0"),
                         encoding="utf-8")
    items = copy / "items" / "cause-and-effect.yaml"
    text = items.read_text(encoding="utf-8")
    text = text.replace("Which correlation coefficient indicates the **strongest** linear association?",
                        "Which correlation coefficient shows the **strongest** linear association?")
    text = text.replace("irt: {model: 3pl, a: 1.615, b: -0.413, c: 0.296}",
                        "irt: {model: 3pl, a: 1.5, b: -0.4, c: 0.296}", 1)
    items.write_text(text, encoding="utf-8")
    return copy


def test_a_new_version_is_shown_with_its_changes_before_it_is_stored(
        client: FlaskClient, db_session: Session, tmp_path: Path) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER)
    factories.sign_in(client, instructor.email)
    r = _upload(client, DEMO)
    assert r.status_code == 303  # a new pack: stored at once
    first = db_session.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id))
    assert first is not None and first.version == "1.0.0"
    module = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == first.id)
                               .order_by(ModuleRow.position))
    assert module is not None

    # stored, not live: learners do not see it until the instructor, having previewed it, publishes it
    factories.sign_in(client, learner.email)
    assert f"/learn/modules/{module.id}" not in client.get("/learn/").data.decode()
    assert client.get(f"/learn/modules/{module.id}").status_code == 404
    assert client.post(f"/assess/modules/{module.id}/attempts").status_code == 404
    factories.sign_in(client, instructor.email)
    packs = client.get("/author/packs").data.decode()
    assert "not live" in packs and f'href="/learn/modules/{module.id}"' in packs  # the preview
    assert client.get(f"/learn/modules/{module.id}").status_code == 200
    r = client.post(f"/author/versions/{first.id}/publish", data={"live": "1"}, follow_redirects=True)
    assert b"is live: learners see it in the catalogue" in r.data

    # a learner is in the middle of an assessment on 1.0.0
    factories.sign_in(client, learner.email)
    assert f"/learn/modules/{module.id}" in client.get("/learn/").data.decode()
    started = client.post(f"/assess/modules/{module.id}/attempts")
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])

    factories.sign_in(client, instructor.email)
    changed = _changed_copy(tmp_path)
    r = _upload(client, changed)
    assert r.status_code == 303 and "/author/imports/" in r.headers["Location"]  # type: ignore[attr-defined]
    assert db_session.scalar(select(func.count()).select_from(PackVersion)) == 1  # nothing stored yet
    page = client.get(r.headers["Location"]).data.decode()  # type: ignore[attr-defined]
    assert "Data literacy 1.1.0: what changes" in page and "Compared with version 1.0.0" in page
    assert "items: 1 edited, 1 parameters changed" in page
    assert re.search(r"<td>item</td><td>edited</td><td><code>cc-001</code></td>.*stem changed", page)
    assert "3pl a=1.615, b=-0.413, c=0.296 → 3pl a=1.5, b=-0.4, c=0.296" in page

    # discarding stores nothing
    pending_id = int(r.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    assert client.post(f"/author/imports/{pending_id}/discard").status_code == 303
    assert db_session.scalar(select(func.count()).select_from(PendingImport)) == 0
    assert client.get(f"/author/imports/{pending_id}").status_code == 404

    # another institution's instructor cannot see or store someone's upload
    r = _upload(client, changed)
    pending_id = int(r.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    stranger = factories.user(db_session, factories.institution(db_session), Role.INSTRUCTOR)
    factories.sign_in(client, stranger.email)
    assert client.get(f"/author/imports/{pending_id}").status_code == 404
    assert client.post(f"/author/imports/{pending_id}/confirm").status_code == 404

    factories.sign_in(client, instructor.email)
    r = client.post(f"/author/imports/{pending_id}/confirm", follow_redirects=True)
    assert b"Imported Data literacy version 1.1.0." in r.data
    versions = list(db_session.scalars(select(PackVersion.version).order_by(PackVersion.id)))
    assert versions == ["1.0.0", "1.1.0"]
    assert db_session.scalar(select(func.count()).select_from(PendingImport)) == 0

    # stored but not live: learners still get 1.0.0, and their attempt on it goes on
    second = db_session.scalar(select(PackVersion).where(PackVersion.version == "1.1.0"))
    assert second is not None and second.published_at is None
    new_module = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == second.id)
                                   .order_by(ModuleRow.position))
    assert new_module is not None
    factories.sign_in(client, learner.email)
    catalogue = client.get("/learn/").data.decode()
    assert f"/learn/modules/{module.id}" in catalogue and f"/learn/modules/{new_module.id}" not in catalogue
    assert client.get(f"/learn/modules/{new_module.id}").status_code == 404
    assert client.get(f"/assess/attempts/{attempt_id}").status_code == 200
    attempt = db_session.get(Attempt, attempt_id)
    assert attempt is not None and attempt.pack_version_id == first.id

    # published, 1.1.0 replaces 1.0.0 in the catalogue; unpublished, 1.0.0 is back
    factories.sign_in(client, instructor.email)
    client.post(f"/author/versions/{second.id}/publish", data={"live": "1"})
    factories.sign_in(client, learner.email)
    assert f"/learn/modules/{new_module.id}" in client.get("/learn/").data.decode()
    factories.sign_in(client, instructor.email)
    r = client.post(f"/author/versions/{second.id}/publish", data={"live": "0"}, follow_redirects=True)
    assert b"is no longer live" in r.data
    factories.sign_in(client, learner.email)
    assert f"/learn/modules/{module.id}" in client.get("/learn/").data.decode()
    assert client.get(f"/assess/attempts/{attempt_id}").status_code == 200

    # the same version again changes nothing; other content under the same number is refused
    factories.sign_in(client, instructor.email)
    r = _upload(client, changed)
    assert r.status_code == 303 and "/author/packs" in r.headers["Location"]  # type: ignore[attr-defined]
    items = changed / "items" / "cause-and-effect.yaml"
    items.write_text(items.read_text(encoding="utf-8").replace("shows the", "gives the"), encoding="utf-8")
    r = _upload(client, changed)
    assert r.status_code == 422 and b"raise the version number" in r.data  # type: ignore[attr-defined]
