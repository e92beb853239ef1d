"""The summary report: open cases by town and village × category × level, and follow-ups due.

De-identified by construction: only counts per village, no names or ID numbers (handbook 领域规则 §5,
个人信息保护法 Art 28, 51). Built as a :class:`~jianhu.extensions.Table` any report format writes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.cases import OPEN_STATUSES
from jianhu.dates import now_utc
from jianhu.db.models import Case, FollowUp, Township, Village
from jianhu.errors import JianhuError
from jianhu.extensions import LEVELS, Column, Table
from jianhu.plugins import Host
from jianhu.roles import Actor, role_labels
from jianhu.scope import restrict
from jianhu.tasks import VISIT_KINDS, WINDOW_DAYS, is_overdue

#: The days a report may be taken on, whoever asks (command line, page, API): from before the
#: first casework records to a horizon for planning (a future day shows what will be due).
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


#: The permission an identified report (:attr:`~jianhu.extensions.Report.identified`) needs:
#: the one that lets a role print a child's records whole (:mod:`jianhu.roles`).
IDENTIFIED_PERMISSION = "documents:export"


def build(session: Session, host: Host, report: Any, on: dt.date, *,
          actor: Actor | None = None) -> Table:
    """Build ``report`` (a :class:`~jianhu.extensions.Report`, the core's or a plugin's) as of
    ``on``, the one way the command line, the web pages and the API build a report:

    - **in scope**: inside :func:`jianhu.scope.confined`, so even a query that forgets the scope
      sees only the actor's township, village or assigned cases;
    - **at one moment**: on PostgreSQL in a fresh read-only ``REPEATABLE READ`` transaction, so
      every figure comes from the same snapshot (a record written meanwhile is in all of them or
      in none). SQLite's transactions are serialisable already.
    - **identified reports** (those naming children): refused, in Chinese, to a role without
      :data:`IDENTIFIED_PERMISSION`, and audited as an ``export`` event with ``identified: True``
      (written in the session after the table is built; the caller commits);
    - **small cells** suppressed by the report's
      :attr:`~jianhu.extensions.Report.small_cells` rule (:func:`suppress_small_cells`).

    ``actor`` defaults to the actor of the session's scope (:func:`jianhu.scope.scope_for`);
    without either, an identified report is refused and no cell is suppressed. The session's
    transaction is ended first (nothing is pending in it: reports only read).

    Raises:
        JianhuError: ``on`` is outside :data:`FIRST_DAY`–:data:`LAST_DAY`, or the report is
            identified and the actor may not export identified data.
    """
    if not FIRST_DAY <= on <= LAST_DAY:
        raise JianhuError(f"统计日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    from jianhu.scope import confined, current

    scope = current(session)
    actor = actor or (scope.actor if scope is not None else None)
    identified = getattr(report, "identified", False)
    if identified:
        if actor is None:
            raise JianhuError(f"报表「{report.title}」含儿童身份信息，须以名册中的人员身份生成（--as）")
        if not actor.can(IDENTIFIED_PERMISSION):
            raise JianhuError(f"{role_labels().get(actor.role, actor.role)}（{actor.code}）无权生成"
                              f"含儿童身份信息的报表「{report.title}」")
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.commit()
        session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                              "postgresql_readonly": True})
    with confined(session):
        table = report.build(session, host, on)
    if identified:
        if postgres:
            session.commit()  # the read-only snapshot ends; the audit event is a write
        audit.record(session, actor=actor.code, action="export", entity_type="report",
                     entity_id=report.name, after={"report": report.name, "identified": True,
                                                   "on": on, "rows": len(table.rows)})
        return table
    rule = getattr(report, "small_cells", "readers")
    if rule == "always" or (rule == "readers" and actor is not None
                            and not actor.can("view:cases")):
        table = suppress_small_cells(table)
    return table


def summary_table(session: Session, host: Host, on: dt.date,
                  now: dt.datetime | None = None) -> Table:
    """Build the summary as of local date ``on``, for the cases in the session's scope.

    A task counts as overdue by :func:`jianhu.tasks.is_overdue` at ``now`` (default: now), the
    rule of the due list.

    Returns:
        a :class:`Table` with one row per village that has an open case (sorted by township code
        and village name), then one subtotal row per township and a county total. Columns: town,
        village, its code (村（社区）代码), open cases, one per level (plus 未评估), one per
        category, visits due within ``WINDOW_DAYS`` days (the kinds of
        :data:`jianhu.tasks.VISIT_KINDS`, not yet overdue), tasks of every kind overdue.
    """
    categories = host.target_categories
    columns = [Column("township", "乡镇"), Column("village", "村（社区）"),
               Column("village_code", "村（社区）代码"), Column("open_cases", "在办个案")]
    columns += [Column(f"level_{code}", label) for code, label in LEVELS]
    columns.append(Column("level_none", "未评估"))
    columns += [Column(f"cat_{c.code}", c.label) for c in categories]
    columns += [Column("followups_due", f"{WINDOW_DAYS}日内到期随访"),
                Column("followups_overdue", "逾期未办（各类待办）")]

    counts: dict[tuple[str, str, str, str], Counter] = defaultdict(Counter)
    # counted by the database, one row per village, level and set of categories
    grouped = (Township.code, Township.name, Village.name, Village.code, Case.level,
               Case.categories)
    stmt = (select(*grouped, func.count())
            .join(Township, Case.township_id == Township.id)
            .join(Village, Case.village_id == Village.id)
            .where(Case.status.in_(OPEN_STATUSES))
            .group_by(*grouped))
    for code, town, village, vcode, level, cats, n in session.execute(restrict(session, stmt)):
        c = counts[code, town, village, vcode or ""]
        c["open_cases"] += n
        c[f"level_{level or 'none'}"] += n
        for cat in cats:
            c[f"cat_{cat}"] += n
    # Lateness is the one rule of jianhu.tasks.is_overdue; tasks are grouped by kind, due day
    # and instant so it is applied once per distinct deadline, not once per task. Overdue counts
    # every kind of task (逾期未办); due soon only visits (jianhu.tasks.VISIT_KINDS), as titled.
    fstmt = (select(Township.code, Township.name, Village.name, Village.code, FollowUp.kind,
                    FollowUp.due_on, FollowUp.due_at, func.count())
             .join(Case, FollowUp.case_id == Case.id)
             .join(Township, FollowUp.township_id == Township.id)
             .join(Village, Case.village_id == Village.id)
             .where(FollowUp.status == "pending",
                    FollowUp.due_on <= on + dt.timedelta(days=WINDOW_DAYS))
             .group_by(Township.code, Township.name, Village.name, Village.code, FollowUp.kind,
                       FollowUp.due_on, FollowUp.due_at))
    now = now or now_utc()
    for code, town, village, vcode, kind, due_on, due_at, n in session.execute(
            restrict(session, fstmt)):
        if is_overdue(due_on, due_at, on, now):
            counts[code, town, village, vcode or ""]["followups_overdue"] += n
        elif kind in VISIT_KINDS:
            counts[code, town, village, vcode or ""]["followups_due"] += n

    keys = [c.key for c in columns[3:]]
    rows: list[dict[str, Any]] = []
    totals: dict[str, Counter] = defaultdict(Counter)
    for (_code, town, village, vcode), c in sorted(counts.items()):
        rows.append({"township": town, "village": village, "village_code": vcode,
                     **{k: c[k] for k in keys}})
        totals[town].update(c)
    for town, c in totals.items():
        rows.append({"township": town, "village": "小计", "village_code": "",
                     **{k: c[k] for k in keys}})
    grand = sum(totals.values(), Counter())
    rows.append({"township": "合计", "village": "", "village_code": "",
                 **{k: grand[k] for k in keys}})
    return Table(
        title="儿童家庭监护干预汇总表",
        columns=tuple(columns),
        rows=rows,
        notes=(f"统计日期：{on.isoformat()}（北京时间）", "本表只含人数，不含姓名、身份证号等个人信息。",
               "一名儿童可同时属于多个类别，类别各列之和可大于在办个案数。",
               f"「{WINDOW_DAYS}日内到期随访」只计随访、告诫书查访和结案回访；「逾期未办」计各类待办"
               "（评估、强制报告、方案措施等）。"),
    )


#: Counts from 1 to SMALL_CELL - 1 are shown as "<5" in de-identified outputs (see
#: :func:`suppress_small_cells`).
SMALL_CELL = 5


def county_table(session: Session, host: Host, on: dt.date) -> Table:
    """The county roll-up as of ``on``: one row per township with the summary's figures, then
    the county total (the sum of the townships' own totals). Every township of the workspace
    appears, with zeros where it has no open case. Small cells are suppressed
    (:func:`suppress_small_cells`) when the table is written for county users.
    """
    summary = summary_table(session, host, on)
    keys = [c.key for c in summary.columns[3:]]
    by_town = {r["township"]: r for r in summary.rows if r["village"] == "小计"}
    rows = []
    for code, name in session.execute(select(Township.code, Township.name).order_by(Township.code)):
        sub = by_town.get(name, {})
        rows.append({"township": name, "code": code, **{k: sub.get(k, 0) for k in keys}})
    total = {"township": "合计", "code": "", **{k: sum(r[k] for r in rows) for k in keys}}
    columns = (Column("township", "乡镇"), Column("code", "区划代码"), *summary.columns[3:])
    return Table(title="儿童家庭监护干预县级汇总表", columns=columns, rows=rows + [total],
                 notes=summary.notes[:1] + (
                     f"小于{SMALL_CELL}的非零人数（小计、合计也是）显示为“<{SMALL_CELL}”；为防止用小计"
                     "或合计倒推，再隐藏的格子显示为“*”。",
                     "本表只含人数，不含姓名、身份证号等个人信息。"))


#: The mark of a cell hidden by complementary suppression (its true value may be large).
COMPLEMENTARY = "*"


def suppress_small_cells(table: Table) -> Table:
    """Hide counts of 1 … SMALL_CELL-1 children as ``"<5"``, and the cells hidden only so that
    those cannot be worked out as ``"*"`` (explained in a note), so they cannot be recovered.

    The rule (small-cell suppression, the usual disclosure control for counts of people): in
    outputs for readers who may not see individual cases, a number of children below 5 could
    point to identifiable children (个人信息保护法 Art 28, 51). Primary suppression hides every such
    cell, subtotal and total rows included. The table's sums are its constraints: in a column,
    the villages of a township add up to its subtotal (小计) and the subtotals (or the townships of
    the county table) to the total (合计); in a row, the level columns add up to the open cases.
    Complementary suppression hides the smallest other non-zero cell of any such sum that has
    exactly one hidden cell, until none has: then no hidden cell can be worked out by
    subtraction. Zeros are shown; the figures are computed from the true counts.
    """
    label = f"<{SMALL_CELL}"
    rows = [dict(r) for r in table.rows]
    counted = [c.key for c in table.columns if any(isinstance(r.get(c.key), int) for r in rows)]
    hidden = {(i, k) for i, r in enumerate(rows) for k in counted
              if isinstance(r.get(k), int) and 0 < r[k] < SMALL_CELL}
    primary = set(hidden)
    sums: list[list[int]] = []  # groups of row indexes: the parts, then the whole, of a column sum
    total = next((i for i, r in enumerate(rows) if r.get("township") == "合计"), None)
    if any(r.get("village") == "小计" for r in rows):
        subtotals = []
        for i, r in enumerate(rows):
            if r.get("village") == "小计":
                sums.append([j for j, o in enumerate(rows) if o.get("township") == r["township"]
                             and o.get("village") not in ("小计", None, "")] + [i])
                subtotals.append(i)
        if total is not None:
            sums.append(subtotals + [total])
    elif total is not None:
        sums.append([i for i in range(len(rows)) if i != total] + [total])
    constraints = [[(i, k) for i in group] for group in sums for k in counted]
    levels = [k for k in counted if k.startswith("level_")]
    if levels and "open_cases" in counted:
        constraints += [[(i, k) for k in [*levels, "open_cases"]] for i in range(len(rows))]
    changed = True
    while changed:
        changed = False
        for cells in constraints:
            if sum(c in hidden for c in cells) != 1:
                continue
            open_cells = [(rows[i][k], i, k) for i, k in cells if (i, k) not in hidden
                          and isinstance(rows[i][k], int) and rows[i][k] > 0]
            if open_cells:
                hidden.add(min(open_cells)[1:])
                changed = True
    for i, k in hidden:
        rows[i][k] = label if (i, k) in primary else COMPLEMENTARY
    notes = list(table.notes)
    if hidden:
        notes.append(f"「{label}」：人数为1至{SMALL_CELL - 1}人，不予显示；「{COMPLEMENTARY}」：人数可能为"
                     f"{SMALL_CELL}人或以上，为防止由合计反推出上述小数字而不予显示。")
    return Table(title=table.title, columns=table.columns, rows=rows, notes=tuple(notes))
