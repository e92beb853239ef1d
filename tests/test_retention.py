"""Legal basis, consent and retention: a child who is an adult and whose case closed long ago is
de-identified; the others are kept; counts stay."""

import datetime as dt
import json

import pytest
from sqlalchemy import select

from casework import ROSTER
from files import write_xlsx
from jianhu.db.models import AuditEvent, Case, Child, ConfidentialRecord, FormRecord, Guardian
from jianhu.errors import ImportRejected
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.people import import_people, resolve_actor
from jianhu.records import record_form
from jianhu.retention import Policy, run
from jianhu.roles import LOCAL_ADMIN
from surveys import survey
from tests_helpers import answer_sheet

ON = dt.date(2026, 12, 1)
#: 甲: born 2005, case closed 2020-01-10 (retention over); 乙: born 2008, closed 2024-03-01 (not
#: five years yet); 丙: a child of 12 (still a minor).
OLD = survey(child__name="测试甲", child__birth_date="2005-03-01",
             child__citizen_id="320724200503010025", survey__date="2019-03-15",
             father__name="测试父", father__phone="13800000001",
             residence__address="测试村1组8号")
RECENT = survey(child__name="测试乙", child__birth_date="2008-10-01",
                child__citizen_id="320724200810010025", survey__date="2023-09-01")
MINOR = survey(child__name="测试丙", child__citizen_id=None, survey__date="2026-03-15")


def close(session, host, case, day, returns):
    actor = resolve_actor(session, "D01")
    now = dt.datetime.combine(day, dt.time(12), dt.UTC)
    record_form(session, host, case, "assessment", answer_sheet(day.isoformat(), score=0),
                actor=actor)
    record_form(session, host, case, "closure", {"closure": {
        "date": day.isoformat(), "reason": "resolved", "summary": "测试甲的祖母已能照料",
        "closed_by": "D01", "approved_by": "S01"}}, actor=actor, now=now)
    for visit_on in returns:
        record_form(session, host, case, "return_visit", {"return_visit": {
            "date": visit_on, "visitor": "D01", "method": "home", "risk_found": False,
            "observations": "测试甲在县城读高中"}}, actor=actor)


@pytest.fixture
def town(session, host, tmp_path):
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    import_people(session, host, tmp_path / "people.csv", actor=LOCAL_ADMIN)
    form = load_form(host, "screening")
    import_screening(session, host, write_xlsx(form, [OLD, RECENT, MINOR], tmp_path / "s.xlsx"),
                     actor="t")
    cases = {name: case for case, name in session.execute(
        select(Case, Child.name).join(Child, Case.child_id == Child.id))}
    old = cases["测试甲"]
    record_form(session, host, old, "incident", {
        "incident": {"discovered_at": "2019-04-01T09:00:00+08:00", "harm_types": ["neglect"],
                     "description": "测试甲常被锁在家中", "recorded_by": "D01"},
        "reporter": {"name": "报告人丁", "relation": "邻居"}}, actor=resolve_actor(session, "D01"))
    close(session, host, old, dt.date(2020, 1, 10),
          ["2020-07-10", "2021-01-10", "2021-07-10", "2022-01-10"])
    close(session, host, cases["测试乙"], dt.date(2024, 3, 1),
          ["2024-09-01", "2025-03-01", "2025-09-01", "2026-03-01"])
    session.commit()
    return cases


def test_retention_deidentifies_only_what_has_passed_its_period(session, host, town):
    dry = run(session, host, on=ON, actor="local-admin", dry_run=True)
    assert (dry.children, dry.dry_run) == (1, True)
    assert session.scalar(select(Child.name).where(Child.id == town["测试甲"].child_id)) == "测试甲"

    done = run(session, host, on=ON, actor="local-admin")
    old = session.get(Child, town["测试甲"].child_id)
    assert (old.name, old.citizen_id, old.birth_date, old.deidentified_on) == (
        "（已去标识）", None, dt.date(2005, 1, 1), ON)
    assert (done.children, done.reporters) == (1, 1)
    assert done.records == 7  # the survey, the incident, the closure and four return visits
    father = session.scalars(select(Guardian).where(Guardian.child_id == old.id,
                                                    Guardian.role == "father")).one()
    assert (father.name, father.phone, father.status) == (None, None, "working_away")
    texts = json.dumps([r.payload for r in session.scalars(select(FormRecord).where(
        FormRecord.subject_id.in_([old.id, town["测试甲"].id])))], ensure_ascii=False)
    for personal in ("测试甲", "320724200503010025", "测试父", "13800000001", "测试村1组8号",
                     "常被锁在家中", "县城读高中", "祖母已能照料"):
        assert personal not in texts
    assert '"harm_types": ["neglect"]' in texts and '"visitor": "D01"' in texts
    assert session.scalars(select(ConfidentialRecord)).all() == []
    copies = json.dumps([(e.before, e.after) for e in session.scalars(select(AuditEvent))],
                        ensure_ascii=False, default=str)
    assert "测试甲" not in copies and "320724200503010025" not in copies
    assert "测试乙" in copies  # the others keep theirs
    # the others: kept whole
    assert session.get(Child, town["测试乙"].child_id).name == "测试乙"
    assert session.scalar(select(Child.name).where(Child.name == "测试丙")) == "测试丙"
    # the case, its level and dates stay for counts; the event says what was done
    case = session.get(Case, town["测试甲"].id)
    assert (case.status, case.level, case.closed_on) == ("return_visits", "green",
                                                         dt.date(2020, 1, 10))
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "deidentify")).one()
    assert event.after["cases"] == [case.case_no]
    # done once: nothing more to do
    assert run(session, host, on=ON, actor="local-admin").children == 0
    # with a shorter period the recent one is due too
    assert run(session, host, on=ON, actor="local-admin",
               policy=Policy(years_after_closure=2)).children == 1


def test_the_command_is_for_administrators_and_reports_what_it_did(run, town):
    out = run("--as", "D01", "retention", "run")
    assert out.exit_code == 1 and "无权到期去标识" in out.output
    out = run("retention", "run", "--dry-run", "--on", "2026-12-01")
    assert out.output.startswith("保存期限已满（试运行，未写入）：儿童 1 名")
    assert "规则：满18周岁、结案满5年" in out.output


def test_consent_is_recorded_with_who_when_and_how(session, host, tmp_path):
    form = load_form(host, "screening")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, write_xlsx(form, [survey(survey__legal_basis="consent")],
                                                   tmp_path / "c.xlsx"), actor="t")
    assert {str(e) for e in err.value.errors} == {
        "第2行「同意人」：必填，不能为空", "第2行「同意日期」：必填，不能为空",
        "第2行「同意方式」：必填，不能为空"}
    doc = survey(survey__legal_basis="consent", survey__consent_by="测试乙（祖母）",
                 survey__consent_date="2026-03-15", survey__consent_method="written")
    import_screening(session, host, write_xlsx(form, [doc], tmp_path / "d.xlsx"), actor="t")
    child = session.scalars(select(Child)).one()
    assert (child.legal_basis, child.consent) == ("consent", {  # free text kept as typed
        "by": "测试乙（祖母）", "date": "2026-03-15", "method": "written"})
    import_screening(session, host, write_xlsx(form, [survey(child__schooling="junior")],
                                               tmp_path / "again.xlsx"), actor="t")
    session.refresh(child)
    assert child.legal_basis == "consent"  # a re-survey that says nothing keeps the consent
    import_screening(session, host, write_xlsx(form, [survey(child__name="测试戊",
                     child__citizen_id=None)], tmp_path / "e.xlsx"), actor="t")
    other = session.scalars(select(Child).where(Child.name == "测试戊")).one()
    assert (other.legal_basis, other.consent) == ("statutory_duty", None)
