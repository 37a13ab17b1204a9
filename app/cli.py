"""The ``thetapath`` console script.

Engine commands (``calibrate``, ``simulate``) read and write files here, so that ``adaptive`` never sees a
path. Bad input exits with status 2 and one line ``FILE:LINE: what is wrong`` on stderr, never a
traceback.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import numpy as np
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from adaptive import (
    AdaptiveError,
    ItemBank,
    PolicySettings,
    Priors,
    ResponseData,
    calibrate,
    read_responses_csv,
    simulate_cat,
    sympson_hetter_control,
    synthetic_bank,
)
from adaptive.irt import DICHOTOMOUS, MODELS
from app.cli_credentials import credentials
from app.cli_lti import lti
from app.cli_pack import pack
from app.models.accounts import Role

__all__ = ["main"]


def _fail(message: str) -> NoReturn:
    """Print one line of error (``FILE:LINE: what is wrong``) and exit with status 2."""
    click.echo(message, err=True)
    sys.exit(2)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        _fail(f"{path}: no such file")
    except IsADirectoryError:
        _fail(f"{path}: is a directory, expected a file")
    except UnicodeDecodeError as exc:
        _fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        _fail(f"{path}: cannot be read ({exc.strerror})")


def _load_bank(path: Path) -> ItemBank:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
    try:
        return ItemBank.from_json(data)
    except AdaptiveError as exc:
        _fail(f"{path}: {exc}")


def _write_json(data: dict[str, Any], out: Path | None) -> None:
    _write_text(json.dumps(data, indent=2) + "\n", out)


def _write_text(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # atomic: a reader never sees half a file
    except OSError as exc:
        _fail(f"{out}: cannot be written ({exc.strerror})")


def _create_app() -> Flask:
    from app import create_app

    return create_app()


class _Cli(click.Group):
    """The command group: the web app is built only by a command that needs it (``with_appcontext``),
    never for ``--help`` or ``--version`` or the engine commands, which write no file either."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        extra.setdefault("obj", ScriptInfo(create_app=_create_app))
        return super().make_context(info_name, args, parent, **extra)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="thetapath", prog_name="thetapath")
def main() -> None:
    """Thetapath: adaptive, self-paced learning for micro-credentials."""


@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from app.migrate import upgrade

    engine = current_app.extensions["thetapath.engine"]
    with engine.begin() as conn:
        upgrade(conn, revision)
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is at {revision}")


@main.group("user")
def user_group() -> None:
    """User accounts."""


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--institution", "institution_slug", required=True,
              help="Slug of the institution; created (closed to sign-up) if it does not exist.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="learner", show_default=True)
@click.password_option(help="Prompted for when not given (at least 10 characters).")
@with_appcontext
def user_create(email: str, name: str, institution_slug: str, role: str, password: str) -> None:
    """Create a user with a role in an institution."""
    from sqlalchemy import select

    from app import db
    from app.accounts.services import AccountError, create_institution, create_user
    from app.models import Institution

    if len(password) < 10:
        _fail("thetapath user create: the password needs at least 10 characters")
    session = db.session()
    inst = session.scalar(select(Institution).where(Institution.slug == institution_slug))
    if inst is None:
        inst = create_institution(session, slug=institution_slug, name=institution_slug, open_signup=False)
    try:
        user = create_user(session, name=name, email=email, password=password, institution=inst,
                           role=Role(role))
    except AccountError as err:
        _fail(f"thetapath user create: {err}")
    session.commit()
    click.echo(f"created {user.email} as {role} in {inst.slug}")


@main.command("export")
@click.argument("what", type=click.Choice(["responses", "bank", "results", "xapi"]))
@click.option("--institution", "institution_slug", required=True, help="The institution's slug.")
@click.option("--pack", "pack_ref", required=True, metavar="ID@VERSION", help="A stored pack version.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The file to write (default: standard output).")
@with_appcontext
def export_command(what: str, institution_slug: str, pack_ref: str, out: Path | None) -> None:
    """Export a pack version's responses (CSV), item bank (JSON), results (CSV) or xAPI statements
    (JSON lines).

    Learners appear under pseudonyms made for this export only (see docs/privacy.md). The responses
    are in the format 'thetapath calibrate' reads.
    """
    from sqlalchemy import select

    from app import db
    from app.analytics.exports import EXPORTS
    from app.models import Institution
    from app.packstore import find_version

    pack_id, _, version = pack_ref.partition("@")
    if not pack_id or not version:
        _fail(f"--pack {pack_ref!r}: name a stored pack version as ID@VERSION, e.g. data-literacy@1.0.0")
    session = db.session()
    institution_id = session.scalar(select(Institution.id).where(Institution.slug == institution_slug))
    row = find_version(session, institution_id, pack_id, version) if institution_id is not None else None
    if row is None:
        _fail(f"{pack_ref}: no such pack version in institution {institution_slug!r}")
    _write_text(EXPORTS[what][2](session, row), out)


DEMO_LEARNERS = 200


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Prepare the database and accounts, then exit.")
@click.option("--learners", default=DEMO_LEARNERS, show_default=True, type=click.IntRange(0, 5000),
              help="Simulated learners who take the demo assessments (once), so analytics have data.")
def demo_command(host: str, port: int, no_serve: bool, learners: int) -> None:
    """Set up the demo on an embedded SQLite database and serve it on http://HOST:PORT."""
    from app import create_app, db
    from app.demo import (
        GRADUATE,
        RECALIBRATION_MIN_RESPONSES,
        ensure_demo,
        seed_graduate,
        seed_simulated_learners,
    )
    from app.migrate import upgrade
    from app.packstore import PackConflict

    # plain http on the loopback interface: cookies cannot be "secure" here
    overrides: dict[str, object] = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                                    "PREFERRED_URL_SCHEME": "http"}
    if "THETAPATH_RECALIBRATION_MIN_RESPONSES" not in os.environ:
        overrides["RECALIBRATION_MIN_RESPONSES"] = RECALIBRATION_MIN_RESPONSES
    app = create_app(overrides)
    engine = app.extensions["thetapath.engine"]
    with engine.begin() as conn:
        upgrade(conn)
    # the demo's own writes (hundreds of simulated answers) go first; the jobs they ask for (credentials
    # earned, say) wait in the database for the job thread, which starts with the web app
    in_process, app.config["JOBS_IN_PROCESS"] = app.config["JOBS_IN_PROCESS"], False
    with app.app_context():
        try:
            inst, accounts = ensure_demo(db.session())
        except PackConflict as err:
            # an older checkout's demo pack under the same version: keep it, and say how to refresh
            db.session().rollback()
            click.echo(f"Note: {err}. The demo goes on with the pack it already has; to see the "
                       f"bundled one, stop the demo and delete {engine.url.database}.", err=True)
            inst, accounts = ensure_demo(db.session(), with_pack=False)
        name = inst.name
        if learners:
            def report(done: int, total: int) -> None:
                if done == total or done % max(1, total // 10) == 0:
                    click.echo(f"  {done} of {total} simulated learners have studied", err=True)

            click.echo(f"Simulating {learners} learners who take the demo assessments (only the first "
                       "time; --learners 0 skips it) ...", err=True)
            seed_simulated_learners(db.session(), inst, learners, progress=report)
        if seed_graduate(db.session(), inst):
            click.echo(f"{GRADUATE.email} took the assessments of the first credential's competencies; "
                       "the credential is issued in the background as the web app starts.", err=True)
    app.config["JOBS_IN_PROCESS"] = in_process
    click.echo(f"Database: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"Institution: {name} (open sign-up), with the demo content pack")
    for account in accounts:
        click.echo(f"  {account.role.value:<10} {account.email:<34} password: {account.password}")
    click.echo(f"Open http://{host}:{port}/ in your browser (Ctrl+C stops the demo).")
    if not no_serve:
        from werkzeug.serving import run_simple

        from app.jobs.workers import start_in_process
        from app.web.server import QuietRequestHandler

        start_in_process(app)  # jobs left from an earlier run go on
        run_simple(host, port, app, threaded=True, request_handler=QuietRequestHandler)


@main.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs that are due, then exit.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs (recalibration, credentials, grade passback, xAPI) until stopped.

    With THETAPATH_REDIS_URL it is an RQ worker on the queue the app fills; without it, it runs the
    jobs that are due straight from the database. Run as many as you like: each job runs once.
    """
    from app.jobs.workers import work

    work(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


def _parse_categories(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[int | None, dict[str, int]]:
    """``--categories``: ``N`` for every item and/or ``ITEM=N`` pairs, comma-separated or repeated."""
    default: int | None = None
    per_item: dict[str, int] = {}
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            iid, eq, count = part.rpartition("=")
            iid = iid.strip()
            if eq and not iid:
                msg = f"{part!r} names no item; write ITEM=N"
                raise click.BadParameter(msg, ctx, param)
            try:
                n = int(count)
            except ValueError:
                n = 0
            if n < 2:
                msg = (f"{part!r}: the number of score categories must be a whole number >= 2 "
                       "(N for scores 0..N-1, e.g. 3 for 0..2)")
                raise click.BadParameter(msg, ctx, param) from None
            if not eq:
                if default is not None and default != n:
                    msg = f"two numbers for every item, {default} and {n}"
                    raise click.BadParameter(msg, ctx, param)
                default = n
            elif per_item.setdefault(iid, n) != n:
                msg = f"item {iid!r} is given {per_item[iid]} and {n}"
                raise click.BadParameter(msg, ctx, param)
    return default, per_item


def _parse_prior(family: str, meaning: str, example: str) -> Any:
    """A click callback reading ``FAMILY:LOCATION,SD`` into ``(location, sd)`` (None if absent)."""

    def parse(ctx: click.Context, param: click.Parameter,
              value: str | None) -> tuple[float, float] | None:
        if value is None:
            return None
        name, colon, rest = value.partition(":")
        try:
            loc, sd = (float(v) for v in rest.split(","))
        except ValueError:
            loc, sd = float("nan"), float("nan")
        if name.strip().lower() != family or not colon or not (
                np.isfinite(loc) and np.isfinite(sd) and sd > 0):
            msg = f"{value!r}: expected {family}:{meaning} with SD > 0, e.g. {example}"
            raise click.BadParameter(msg, ctx, param)
        return loc, sd

    return parse


def _max_score_column(responses: Path) -> dict[str, int]:
    """Each item's highest possible score from an optional ``max_score`` column (as exports have)."""
    rows = csv.DictReader(_read_text(responses).splitlines())
    names = {(name or "").strip().lower().lstrip("\ufeff"): name for name in rows.fieldnames or ()}
    if "max_score" not in names or "item" not in names:
        return {}
    out: dict[str, int] = {}
    for row in rows:
        item, value = (row.get(names["item"]) or "").strip(), (row.get(names["max_score"]) or "").strip()
        if item and value.isdigit():
            out[item] = max(out.get(item, 0), int(value))
    return out


def _declared_categories(
    responses: Path, model: str, data: ResponseData, anchors: ItemBank | None,
    default: int | None, per_item: dict[str, int],
) -> dict[str, int] | None:
    """The ``categories`` mapping for :func:`adaptive.calibrate`; refuse undeclared items."""
    if model in DICHOTOMOUS:
        return None
    present = set(data.items)
    unknown = [iid for iid in per_item if iid not in present]
    if unknown:
        _fail(f"{responses}: --categories names item {unknown[0]!r}, which has no responses in "
              "this file; check the item id")
    anchored = set(anchors.ids) if anchors is not None else set()
    from_column = _max_score_column(responses)
    declared: dict[str, int] = {}
    missing: list[str] = []
    for iid in data.items:
        if iid in per_item:
            declared[iid] = per_item[iid]
        elif iid in from_column and default is None:
            declared[iid] = from_column[iid] + 1
        elif iid in anchored:
            continue  # the anchor bank knows its categories
        elif default is not None:
            declared[iid] = default
        else:
            missing.append(iid)
    if missing:
        shown = ", ".join(repr(iid) for iid in missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        _fail(f"{responses}: model {model} needs the number of score categories of every item, "
              f"and none is declared for {shown}; pass --categories N for every item (e.g. "
              "--categories 3 for scores 0..2) or --categories ITEM=N,ITEM=N (items of an "
              "--anchor bank know their own)")
    return declared


@main.command("calibrate")
@click.argument("responses", metavar="RESPONSES.csv", type=click.Path(path_type=Path))
@click.option("--model", required=True, type=click.Choice(MODELS, case_sensitive=False),
              help="IRT model to calibrate.")
@click.option("--categories", "categories", multiple=True, metavar="N|ITEM=N,...",
              callback=_parse_categories,
              help="Number of score categories of the gpcm/grm items (required for them): N for "
                   "every item (3 for scores 0..2), ITEM=N for one item, comma-separated or "
                   "repeated; e.g. --categories 3,essay7=5. Items of an --anchor bank know "
                   "their own. A score above an item's range is an error naming its line.")
@click.option("--a-prior", metavar="lognormal:0,0.5", default=None,
              callback=_parse_prior("lognormal", "MEANLOG,SDLOG", "lognormal:0,0.5"),
              help="Lognormal prior on every discrimination a (log a ~ N(MEANLOG, SDLOG^2)); "
                   "keeps a poorly determined a finite and plausible. Suggested: lognormal:0,0.5.")
@click.option("--b-prior", metavar="normal:0,2", default=None,
              callback=_parse_prior("normal", "MEAN,SD", "normal:0,2"),
              help="Normal prior on every difficulty b (every threshold of gpcm/grm items).")
@click.option("--engine", default="mml", show_default=True,
              type=click.Choice(("mml", "pyirt"), case_sensitive=False),
              help="mml: our marginal maximum likelihood EM; pyirt: the pyirt package (2pl only, "
                   "no priors or anchors), its estimates put on the N(0, 1) metric.")
@click.option("--quadrature", default=61, show_default=True, type=click.IntRange(5, 401),
              help="Number of quadrature points.")
@click.option("--max-iter", default=500, show_default=True, type=click.IntRange(1),
              help="Largest number of EM cycles; the JSON says whether it converged before.")
@click.option("--tol", default=1e-4, show_default=True, type=click.FloatRange(min=0.0, min_open=True),
              help="Converged when no parameter changes by more than this in one EM cycle.")
@click.option("--anchor", type=click.Path(path_type=Path), default=None,
              help="BANK.json of calibrated anchor items whose parameters stay fixed.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the bank JSON here instead of stdout.")
def calibrate_command(responses: Path, model: str, categories: tuple[int | None, dict[str, int]],
                      a_prior: tuple[float, float] | None, b_prior: tuple[float, float] | None,
                      engine: str, quadrature: int, max_iter: int, tol: float,
                      anchor: Path | None, out: Path | None) -> None:
    """Calibrate item parameters from RESPONSES.csv (columns learner,item,score).

    Warnings (on stderr) name items whose estimates are implausible (a > 4, SE(a) > 1 or
    SE(b) > 2); --a-prior lognormal:0,0.5 bounds a runaway discrimination.
    """
    model, engine = model.lower(), engine.lower()
    default, per_item = categories
    counts = [*per_item.values(), *([] if default is None else [default])]
    if model in DICHOTOMOUS and any(n != 2 for n in counts):
        msg = (f"model {model} is dichotomous (2 score categories, 0/1); --categories is for "
               "gpcm and grm")
        raise click.BadParameter(msg, param_hint="'--categories'")
    if engine == "pyirt" and (a_prior is not None or b_prior is not None):
        msg = "--a-prior and --b-prior need --engine mml (pyirt takes no priors)"
        raise click.UsageError(msg)
    priors = (Priors(a_lognormal=a_prior, b_normal=b_prior)
              if a_prior is not None or b_prior is not None else None)
    text = _read_text(responses)
    anchors = _load_bank(anchor) if anchor is not None else None
    try:
        data = read_responses_csv(text.splitlines(), str(responses),
                                  max_score=1 if model in DICHOTOMOUS else None)
        declared = _declared_categories(responses, model, data, anchors, default, per_item)
        result = calibrate(data, model, n_quadrature=quadrature, anchors=anchors,
                           engine=engine, priors=priors, categories=declared,
                           max_iter=max_iter, tol=tol)
    except AdaptiveError as exc:
        _fail(str(exc) if str(exc).startswith(str(responses)) else f"{responses}: {exc}")
    for warning in result.warnings:
        click.echo(f"{responses}: warning: {warning}", err=True)
    _write_json(result.to_json(), out)


@main.command("simulate")
@click.option("--bank", "bank_path", type=click.Path(path_type=Path), default=None,
              help="BANK.json as written by 'thetapath calibrate'.")
@click.option("--synthetic-bank", "n_synthetic", type=click.IntRange(1, 10_000_000), default=None,
              help="Use a random 2PL bank of N items instead of --bank.")
@click.option("--examinees", required=True, type=click.IntRange(1, 10_000_000))
@click.option("--seed", required=True, type=int)
@click.option("--estimator", default="eap", show_default=True,
              type=click.Choice(("eap", "map", "wle")))
@click.option("--selection", default="mfi", show_default=True,
              type=click.Choice(("mfi", "randomesque", "sympson-hetter")))
@click.option("--se", "se_target", default=0.3, show_default=True, type=click.FloatRange(min=0.0),
              help="Stop once the standard error is below this.")
@click.option("--max-items", default=40, show_default=True, type=click.IntRange(1))
@click.option("--cut", type=float, default=None,
              help="Cut score (theta) for mastery classification.")
@click.option("--exposure-target", default=0.2, show_default=True,
              type=click.FloatRange(0.01, 1.0), help="Sympson-Hetter target exposure rate.")
def simulate_command(bank_path: Path | None, n_synthetic: int | None, examinees: int, seed: int,
                     estimator: str, selection: str, se_target: float, max_items: int,
                     cut: float | None, exposure_target: float) -> None:
    """Simulate adaptive tests for N examinees with abilities from N(0, 1); print a JSON summary."""
    rng = np.random.default_rng(seed)
    if bank_path is not None and n_synthetic is None:
        bank = _load_bank(bank_path)
    elif n_synthetic is not None and bank_path is None:
        bank = synthetic_bank(n_synthetic, rng)
    else:
        _fail("thetapath simulate: give exactly one of --bank BANK.json or --synthetic-bank N")
    settings = PolicySettings(estimator=estimator, selection=selection, se_target=se_target,
                              max_items=max_items, cut=cut)
    try:
        if selection == "sympson-hetter":
            control = sympson_hetter_control(bank, settings, exposure_target, rng,
                                             n_examinees=min(max(examinees, 200), 1000))
            settings = PolicySettings.from_json({**settings.to_json(), "exposure_control": control})
        result = simulate_cat(bank, settings.build(), rng.normal(size=examinees), rng)
    except AdaptiveError as exc:
        _fail(str(exc))
    click.echo(json.dumps(result.summary(cut), indent=2))


main.add_command(pack)
main.add_command(credentials)
main.add_command(lti)
