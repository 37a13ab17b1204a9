"""The demo: an embedded SQLite database with a demo institution, accounts and pack, and simulated
learners who took its assessments through the app (one action, one commit)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.simulate import draw_score
from app.accounts.services import create_institution, create_user, normalise_email
from app.assess.services import OptionCodes, attempt_salt, option_codes, start, submit
from app.authz import Principal
from app.errors import ServiceError
from app.learn.services import lesson_page
from app.models import Attempt, AttemptStatus, Institution, Membership, ModuleRow, PackVersion, Role, User
from app.packstore import content_of, import_pack, module_bank
from content import Item, score

DEMO_INSTITUTION = ("demo-university", "Demo University")
DEMO_PACK = Path(__file__).resolve().parent.parent / "content" / "packs" / "data-literacy"


@dataclass(frozen=True)
class DemoAccount:
    """A log-in printed for the person trying the demo."""

    role: Role
    email: str
    password: str


DEMO_ACCOUNTS = (
    DemoAccount(Role.LEARNER, "learner@example.org", "learn-at-your-pace"),
    DemoAccount(Role.INSTRUCTOR, "instructor@example.org", "teach-with-evidence"),
    DemoAccount(Role.ADMIN, "admin@example.org", "run-the-institution"),
    # a learner who has already earned the pack's first credential (see seed_graduate)
    DemoAccount(Role.LEARNER, "graduate@example.org", "earned-a-badge"),
)
GRADUATE = DEMO_ACCOUNTS[3]
GRADUATE_ABILITY = 10.0


def ensure_demo(session: Session, *, with_pack: bool = True) -> tuple[Institution, tuple[DemoAccount, ...]]:
    """Create the demo institution and accounts and import the demo pack, unless done; idempotent."""
    slug, name = DEMO_INSTITUTION
    inst = session.scalar(select(Institution).where(Institution.slug == slug))
    if inst is None:
        inst = create_institution(session, slug=slug, name=name, open_signup=True)
    for account in DEMO_ACCOUNTS:
        exists = session.scalar(select(User.id).where(User.email == normalise_email(account.email)))
        if exists is None:
            name = "Demo graduate" if account.email == GRADUATE.email else f"Demo {account.role.value}"
            create_user(session, name=name, email=account.email,
                        password=account.password, institution=inst, role=account.role)
    session.commit()
    if with_pack:
        instructor = session.scalar(select(User.id).where(User.email == DEMO_ACCOUNTS[1].email))
        import_pack(session, inst, DEMO_PACK, instructor)
    return inst, DEMO_ACCOUNTS


# --- simulated learners ------------------------------------------------------------------------------

# The demo's 200 simulated learners give the most answered pilot items 40-80 answers: the demo
# recalibrates from 40 on (THETAPATH_RECALIBRATION_MIN_RESPONSES overrides it), so that an instructor
# can try a recalibration, approve it and roll it back; a real deployment keeps the default of 200.
RECALIBRATION_MIN_RESPONSES = 40
SIMULATED_DOMAIN = "simulated.invalid"  # a reserved domain: no mail can ever reach these addresses


def answer_form(item: Item, right: bool, codes: OptionCodes) -> dict[str, list[str]]:
    """The form fields a learner sends to answer ``item`` right or wrong, with the attempt's option ids.

    Simulated learners answer through the same form parsing and scoring as people do.
    """
    key = item.key
    o, s, t = codes.option, codes.source, codes.target
    fields: dict[str, str | list[str]]
    if item.type == "single_choice":
        wrong = next(opt.id for opt in item.options if opt.id != key)
        fields = {"answer": o(str(key) if right else wrong)}
    elif item.type == "multiple_choice":
        keyed = [str(k) for k in cast(tuple[str, ...], key)]
        others = [opt.id for opt in item.options if opt.id not in keyed]
        fields = {"answer": [o(i) for i in (keyed if right else others[:1] or keyed[:1])]}
    elif item.type == "numeric":
        fields = {"answer": str(key) if right else str(float(str(key)) * 3 + 1000)}
    elif item.type == "short_text":
        fields = {"answer": item.accepted[0] if right and item.accepted else "certainly not this"}
    elif item.type == "ordering":
        keyed = list(cast(tuple[str, ...], key))
        order = keyed if right else keyed[::-1]
        fields = {f"rank-{o(oid)}": str(order.index(oid) + 1) for oid in keyed}
    elif item.type == "matching":
        targets = [tg.id for tg in item.targets]
        fields = {f"match-{s(src)}": t(tgt if right else next(x for x in targets if x != tgt))
                  for src, tgt in cast(tuple[tuple[str, str], ...], key)}
    else:
        msg = f"no simulated answer for {item.type} items"
        raise ValueError(msg)
    return {name: value if isinstance(value, list) else [value] for name, value in fields.items()}


def _form_of(item: Item, answer: Any, codes: OptionCodes) -> dict[str, list[str]]:
    """The form fields that send ``answer`` (in the shape the item type scores)."""
    if item.type == "multiple_choice":
        return {"answer": [codes.option(o) for o in answer]}
    if item.type == "ordering":
        return {f"rank-{codes.option(o)}": [str(answer.index(o) + 1)] for o in answer}
    if item.type == "matching":
        return {f"match-{codes.source(src)}": [codes.target(tgt)] for src, tgt in answer.items()}
    msg = f"no partial answers for {item.type} items"
    raise ValueError(msg)


def _candidates(item: Item) -> Iterator[Any]:
    """Answers to a partial-credit item, in the shapes its type scores (bounded in number)."""
    if item.type == "multiple_choice":
        ids = [o.id for o in item.options]
        for size in range(1, len(ids) + 1):
            yield from (list(c) for c in itertools.combinations(ids, size))
    elif item.type == "ordering":
        yield from (list(p) for p in itertools.islice(
            itertools.permutations([o.id for o in item.options]), 5040))
    elif item.type == "matching":
        sources, targets = [s.id for s in item.sources], [t.id for t in item.targets]
        for combo in itertools.islice(itertools.product(targets, repeat=len(sources)), 20000):
            yield dict(zip(sources, combo, strict=True))


_PARTIAL: dict[tuple[str, str, int], Any] = {}


def answer_scoring(item: Item, points: int, codes: OptionCodes) -> dict[str, list[str]]:
    """Form fields of an answer to ``item`` that scores ``points`` (0 to its maximum).

    Full marks and none come from :func:`answer_form`; a partial score from the first answer found
    that earns it, remembered per item.
    """
    if points >= item.max_score or points <= 0:
        return answer_form(item, points > 0, codes)
    key = (item.file, item.id, points)
    if key not in _PARTIAL:
        _PARTIAL[key] = next((a for a in _candidates(item) if score(item, a) == points), None)
    found = _PARTIAL[key]
    return _form_of(item, found, codes) if found is not None else answer_form(item, False, codes)


def seed_simulated_learners(session: Session, inst: Institution, count: int, *, seed: int = 20261207,
                            progress: Callable[[int, int], None] | None = None) -> int:
    """Simulated learners who study the newest demo pack version's modules and take their assessments.

    Each has an ability per competency (a general ability plus a competency's own part) and earns on
    each question a score drawn from the item's own model (partial credit included), answering
    through the same services as a person: the lesson is opened, the assessment started, each answer
    parsed, scored and recorded, the evidence written. Some stop after a lesson, some leave an
    assessment unfinished, and the rest go on to the next module with a chance of their own, so the
    funnel narrows. Learner ``n`` is the same whenever it is made, and those that exist already are
    skipped, so this is idempotent and an interrupted run goes on where it stopped. Returns how many
    were made. Answering as the model says, about 5% of their attempts are flagged by person fit, as
    the rules' false-alarm rate would have it.
    """
    version = session.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id)
                             .order_by(PackVersion.id.desc()))
    if version is None:
        return 0
    with current_app.test_request_context():  # the services build links, as for a request
        return _seed(session, inst, version, count, seed, progress)


def seed_graduate(session: Session, inst: Institution) -> bool:
    """The demo graduate earns the newest demo pack version's first credential the honest way: they
    take the assessments of its competencies' modules through the engine, answering as a learner far
    above every item would (right, all but certainly: a learner of ability 3 still misses an easy
    item now and then, and person fit then sets an attempt aside once in a while), and the
    credentials job issues it. Only once (False if they had started)."""
    user = session.scalar(select(User).where(User.email == GRADUATE.email))
    version = session.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id)
                             .order_by(PackVersion.id.desc()))
    if user is None or version is None or not content_of(session, version).credentials:
        return False
    if session.scalar(select(Attempt.id).where(Attempt.user_id == user.id).limit(1)) is not None:
        return False
    pack = content_of(session, version)
    wanted = set(pack.credentials[0].competencies)
    who = Principal(user.id, inst.id, Role.LEARNER)
    rng = random.Random(20261207)
    with current_app.test_request_context():  # the services build links, as for a request
        for row in sorted(version.modules, key=lambda m: m.position):
            if pack.module(row.key).competencies[0] in wanted:
                take_assessment(session, who, row, GRADUATE_ABILITY, rng)
        session.commit()
    return True


def take_assessment(session: Session, who: Principal, row: ModuleRow, theta: float, rng: random.Random,
                    *, gives_up: int | None = None, kind: str = "assessment") -> int:
    """A learner of ability ``theta`` takes a module's assessment (or test-out: ``kind``) through the
    services, each answer scored as the item's own model says (partial credit included); stops after
    ``gives_up`` answers if given. Returns the attempt's id (ServiceError if it cannot start now)."""
    attempt_id = start(session, who, row.id, kind=kind)
    bank, items = module_bank(session, row.pack_version, row.key)
    for answered in range(200):
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        if attempt.status is AttemptStatus.COMPLETED or answered == gives_up:
            break
        item = items[attempt.state["pending"]]
        points = draw_score(bank, theta, item.id, rng.random())  # as the model says
        form = answer_scoring(item, points, option_codes(attempt_salt(attempt), item))
        submit(session, who, attempt_id, attempt.pending_token or "", form)
    return attempt_id


def _seed(session: Session, inst: Institution, version: PackVersion, count: int, seed: int,
          progress: Callable[[int, int], None] | None) -> int:
    pack = content_of(session, version)
    rows = sorted(version.modules, key=lambda m: m.position)
    made = 0
    existing = set(session.scalars(select(User.email).where(User.simulated.is_(True))))
    for n in range(1, count + 1):
        email = f"learner-{n:04d}@{SIMULATED_DOMAIN}"
        if email in existing:
            continue
        rng = random.Random(seed * 100_003 + n)
        general = rng.gauss(0.0, 1.0)
        ability = {c.id: general + rng.gauss(0.0, 0.5) for c in pack.competencies}
        keep_going = rng.uniform(0.55, 0.95)
        user = User(name=f"Simulated learner {n}", email=email, password_hash="!", simulated=True)
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, institution_id=inst.id, role=Role.LEARNER))
        session.commit()
        who = Principal(user.id, inst.id, Role.LEARNER)
        for row in rows:
            module = pack.module(row.key)
            if module.lessons:
                lesson_page(session, who, row.id, 0, asset_prefix="/")
            if rng.random() > keep_going:
                break
            gives_up = rng.randint(2, 8) if rng.random() < 0.1 else None  # leaves it unfinished
            try:
                take_assessment(session, who, row, ability[module.competencies[0]], rng, gives_up=gives_up)
            except ServiceError:  # nothing to assess in this module
                continue
            if gives_up is not None or rng.random() > keep_going:
                break
        made += 1
        if progress is not None:
            progress(n, count)
    return made
