"""The main job on generated data: a fresh workspace, sample files, import, grade, schedule, report.

A demo directory carries a marker file; a directory with the marker is reset before each run (only
the demo's own files are removed), a non-empty directory without it is refused, so two runs are
never mixed and nobody's files are deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jianhu.dates import local_today
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.errors import JianhuError
from jianhu.imports.assessment import import_assessments
from jianhu.imports.records import import_records
from jianhu.imports.runner import ImportSummary
from jianhu.imports.screening import import_screening
from jianhu.people import import_people, resolve_actor
from jianhu.plugins import Host
from jianhu.sample import SampleFiles, write_sample

MARKER = ".jianhu-demo"
DEMO_FILES = ("jianhu.db", "jianhu.db-wal", "jianhu.db-shm", "screening.xlsx", "assessment.xlsx",
              "people.xlsx", "teams.csv", "records.jsonl", "summary.xlsx", MARKER)


@dataclass
class DemoRun:
    """Paths and figures of one demo run."""

    out: Path
    db_url: str
    files: SampleFiles
    screening: ImportSummary
    assessment: ImportSummary
    people: ImportSummary
    records: ImportSummary
    report: Path
    on: dt.date
    #: Demo sign-ins for the web interface: ``(code, role label, one-time password)``.
    accounts: tuple[tuple[str, str, str], ...] = ()
    #: The plan's teams imported from ``teams.csv`` (:func:`jianhu.teams.import_teams`).
    teams: Any = None
    #: Training sessions recorded (two per township, :func:`jianhu.sample_casework.trainings`).
    trainings: int = 0


def prepare(out: Path) -> None:
    """Make ``out`` an empty demo directory.

    Raises:
        JianhuError: ``out`` is a file, or a non-empty directory that is not a demo directory.
    """
    if out.exists() and not out.is_dir():
        raise JianhuError(f"{out} 是文件，不是目录")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise JianhuError(f"{out} 不是空目录，也不是演示目录：请换一个目录，以免覆盖其中的文件")
        for name in DEMO_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("jianhu demo workspace\n", encoding="utf-8")


def run_demo(host: Host, out: str | Path, *, children: int, seed: int, actor: str | None,
             db_url: str | None = None) -> DemoRun:
    """Run the whole job on sample data in ``out``: screening, assessment, roster, then the
    casework records (plans, services, visits, harm reports, escalations, closures).

    Args:
        host: loaded plugins.
        out: the demo directory (see :func:`prepare`); the database is ``out/jianhu.db``.
        children: number of sample children.
        seed: random seed of the sample (same seed, same figures).
        actor: recorded in the audit trail.
        db_url: the database (an empty one); default ``out/jianhu.db``.

    Returns:
        a :class:`DemoRun`.
    """
    out = Path(out).resolve()
    prepare(out)
    files = write_sample(host, out, children, seed)
    url = db_url or f"sqlite:///{out / 'jianhu.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with open_session(engine) as session:
            screening = import_screening(session, host, files.screening, actor=actor)
        with open_session(engine) as session:
            assessment = import_assessments(session, host, files.assessment, actor=actor)
        with open_session(engine) as session:
            admin = resolve_actor(session, actor)
            people = import_people(session, host, files.people, actor=admin)
        with open_session(engine) as session:
            teams, trainings = teams_and_training(session, resolve_actor(session, actor), files)
        with open_session(engine) as session:
            records = import_records(session, host, files.records, actor=admin)
        with open_session(engine) as session:
            accounts = demo_accounts(session, resolve_actor(session, actor))
        on = local_today()
        report = out / "summary.xlsx"
        with open_session(engine) as session:
            table = host.reports["summary"].build(session, host, on)
        host.report_formats["xlsx"].write(table, report)
    finally:
        engine.dispose()
    return DemoRun(out, url, files, screening, assessment, people, records, report, on,
                   accounts, teams, trainings)


def teams_and_training(session: Session, admin: Any, files: SampleFiles) -> tuple[Any, int]:
    """Import the sample's teams and record two training sessions per township (invented
    people; 新政发〔2016〕8号 四、六（三）). Commits. Returns the import summary and the number of
    sessions."""
    from sqlalchemy import select

    from jianhu.db.models import Township, Village
    from jianhu.sample_casework import trainings
    from jianhu.scope import scope_for
    from jianhu.teams import import_teams
    from jianhu.trainings import add_session

    scope = scope_for(session, admin)
    summary = import_teams(session, admin, scope, files.teams)
    towns = [(t.code, t.name, session.scalars(select(Village.name).where(
        Village.township_id == t.id)).all()) for t in session.scalars(select(Township))]
    sessions = trainings(towns)
    for s in sessions:
        add_session(session, admin, scope, **s)
    session.commit()
    return summary, len(sessions)


#: The demo's web sign-ins: 新安镇's first village child director and its supervisor.
DEMO_ACCOUNTS = ("320724100-D01", "320724100-S01")


def demo_accounts(session: Session, admin: Any) -> tuple[tuple[str, str, str], ...]:
    """Give the demo accounts a fresh random password each (printed once by ``jianhu demo``,
    stored as Argon2id hashes) and return ``(code, role label, password)``. Commits."""
    import secrets

    from jianhu.roles import role_labels
    from jianhu.web.auth import set_password

    out = []
    for code in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        try:
            person = set_password(session, code, password, actor=admin)
        except JianhuError:  # a sample too small to have this person
            continue
        out.append((code, role_labels().get(person.role, person.role), password))
    session.commit()
    return tuple(out)
