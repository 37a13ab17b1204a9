"""Item statistics for instructors: asked for from the page, computed by a job from the version's
responses, shown in a table that sorts and filters without JavaScript, flagged in words."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analytics.services import FLAG_MIN_RESPONSES
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import Attempt, Job, JobStatus, Response, Role
from app.packstore import content_of, import_pack
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
HX = {"HX-Request": "true"}


def easy_title(pack: object, competency: str) -> str:
    return next(c.title for c in pack.competencies if c.id == competency)  # type: ignore[attr-defined]


def _column(page: str, item_ids: list[str]) -> list[str]:
    """The item ids in the order the table lists them."""
    order = re.findall(r"<code>([^<]+)</code></a>", page)
    return [i for i in order if i in item_ids]


def test_an_instructor_computes_and_reads_item_statistics(app: Flask, client: FlaskClient,
                                                          db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    pack = content_of(db_session, version)
    easy, middle, hard = [it for it in pack.items if it.max_score == 1 and not it.pilot][:3]
    # 40 learners: everyone gets `easy` right, learner k gets `middle` right when k is even and
    # `hard` right only when k < 1: `easy` is too easy, `hard` too hard, `middle` fits badly
    for k in range(FLAG_MIN_RESPONSES + 10):
        who = learner if k == 0 else factories.user(db_session, inst)
        attempt = Attempt(user_id=who.id, institution_id=inst.id, pack_version_id=version.id,
                          competency=easy.competency, policy={}, seed=k, state={})
        db_session.add(attempt)
        db_session.flush()
        for j, (item, right) in enumerate(((easy, True), (middle, k % 2 == 0), (hard, k < 1))):
            db_session.add(Response(attempt_id=attempt.id, position=j, item=item.id, answer=None,
                                    score=int(right), max_score=1, theta=0.0, se=1.0, token=f"{k}-{j}"))
    db_session.commit()
    url = f"/author/versions/{version.id}/items"

    factories.sign_in(client, learner.email)
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/compute").status_code == 403

    factories.sign_in(client, instructor.email)
    packs = client.get("/author/packs").data.decode()
    assert f'href="{url}"' in packs
    page = client.get(url).data.decode()
    assert "No statistics have been computed for this version yet." in page
    assert "Compute the statistics" in page
    r = client.post(f"{url}/compute")
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    page = client.get(url).data.decode()
    job = db_session.scalar(select(Job).order_by(Job.id.desc()))
    assert job is not None and job.status is JobStatus.QUEUED
    assert f'hx-get="/jobs/{job.id}"' in page and "Compute the statistics" not in page  # progress instead
    client.post(f"{url}/compute")  # asking twice: still one job
    assert db_session.scalar(select(func.count()).select_from(Job)) == 1

    with app.app_context():
        assert jobs.run_due(sessions(app)) == 1
    fragment = client.get(f"/jobs/{job.id}", headers=HX).data.decode()
    assert "Finished." in fragment and f'<a href="{url}">See the results</a>' in fragment

    page = client.get(url).data.decode()
    n = FLAG_MIN_RESPONSES + 10
    assert f"From {n * 3} responses of {n} learners" in page
    assert "Compute again from every response" in page
    ids = [easy.id, middle.id, hard.id]
    rows = {i: page.split(f"<code>{i}</code></a>")[1].split("</tr>")[0] for i in ids}
    assert "1.00" in rows[easy.id] and "too easy for these learners" in rows[easy.id]
    # right for every second learner whatever their ability: it fits its parameters badly
    assert "0.50" in rows[middle.id] and "too" not in rows[middle.id]
    assert "answers less predictable than its parameters say" in rows[middle.id]
    assert "0.03" in rows[hard.id] and "too hard for these learners" in rows[hard.id]

    # sorted by proportion correct, both ways; items nobody answered stay last either way
    by_p = client.get(f"{url}?sort=proportion_correct&order=desc").data.decode()
    assert _column(by_p, ids) == [easy.id, middle.id, hard.id]
    assert 'aria-sort="descending"' in by_p
    by_p = client.get(f"{url}?sort=proportion_correct").data.decode()
    assert _column(by_p, ids) == [hard.id, middle.id, easy.id]
    unanswered = next(it.id for it in pack.items if it.max_score and it.id not in ids)
    listed = re.findall(r"<code>([^<]+)</code></a>", by_p)
    assert listed.index(unanswered) > listed.index(easy.id)
    # filtered: flagged only, and one competency
    flagged = client.get(f"{url}?flagged=1").data.decode()
    assert _column(flagged, ids) == sorted(ids)  # by id, the default
    unflagged = [row for row in re.findall(r"<code>([^<]+)</code></a>", page) if row not in ids]
    assert unflagged and not set(unflagged) & set(re.findall(r"<code>([^<]+)</code></a>", flagged))
    other = next(c for c in pack.competencies if c.id != easy.competency)
    one = client.get(f"{url}?competency={other.id}").data.decode()
    assert easy.id not in one and "<code>" in one
    assert client.get(f"{url}?sort=nonsense").status_code == 200  # an unknown key sorts by id

    # per competency: how reliable the estimates are
    assert "Empirical reliability" in page and easy_title(pack, easy.competency) in page
    # one item: its question and key, statistics with fit, and its curves drawn on the server
    item_page = client.get(f"{url}/{middle.id}")
    assert item_page.status_code == 200
    text = item_page.data.decode()
    assert f"<h1>Item <code>{middle.id}</code></h1>" in text and "<strong>Key:</strong>" in text
    assert "Infit mean-square" in text and re.search(r"Infit mean-square \(t\)</th><td[^>]*>\d+\.\d\d", text)
    assert text.count('<svg class="chart"') == 2 and 'role="img"' in text
    assert f"<title>Expected score of {middle.id} by ability</title>" in text
    # the model is a line, the observed groups are square markers with their numbers as tooltips
    marker = r"<g><title>Observed, by ability group: -?\d[^<]*learners\)</title><rect"
    assert "<polyline" in text and re.search(marker, text)
    assert client.get(f"{url}/no-such-item").status_code == 404
    assert f'href="{url}/{middle.id}"' in page  # linked from the table

    # new answers are counted, and computing again makes a new job
    db_session.add(Response(attempt_id=db_session.scalar(select(Attempt.id)), position=9,
                            item=middle.id, answer=None, score=1, max_score=1, theta=0.0, se=1.0,
                            token="late"))
    db_session.commit()
    assert "1 more answer came in since." in client.get(url).data.decode()
    client.post(f"{url}/compute")
    assert db_session.scalar(select(func.count()).select_from(Job)) == 2
