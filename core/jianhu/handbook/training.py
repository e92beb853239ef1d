"""Generated training aids: a one-page checklist per role and worked examples from the sample data.

Checklists come from :data:`jianhu.roles.PERMISSIONS` and the task kinds of
:data:`jianhu.tasks.TASK_KINDS` (with the deadline rules of
:func:`jianhu.handbook.reference.deadline_rules`); the duties in words paraphrase
新政发〔2016〕8号 四（二）、（三） and 民发〔2019〕34号. Worked examples are made by the sample generator
(:func:`jianhu.sample.generate`, :func:`jianhu.sample_casework.casework`) with a fixed seed and scored
by the installed default scale, so they change when the forms, the scale or the policy change.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jianhu.handbook.md import Raw, code, fenced, link, relpath, table, text
from jianhu.handbook.reference import (
    DEADLINES_PAGE,
    POLICY_PAGE,
    ROLES_PAGE,
    action_text,
    deadline_rules,
    form_page,
    level_text,
    scale_page,
)

if TYPE_CHECKING:
    from jianhu.handbook.model import Handbook

log = logging.getLogger("jianhu.handbook")

AIDS_DIR = "aids"
CHECKLISTS_DIR = f"{AIDS_DIR}/checklists"
EXAMPLES_DIR = f"{AIDS_DIR}/examples"
SAMPLE_SEED = 2016
SAMPLE_CHILDREN = 400

#: Each role's duties in words (paraphrasing 新政发〔2016〕8号 四（二）、（三）、六（三） and, for the
#: child director and supervisor, 民发〔2019〕34号). A role without an entry gets a generic line.
ROLE_DUTIES: dict[str, str] = {
    "local_admin": "管理本工作区：建立和升级数据库，导入人员名册，安装、启用插件，生成报表和操作手册。"
                   "日常登记应以具体工作人员的编号操作，不要都用管理员身份。",
    "township_supervisor": "乡镇儿童督导员：督促各村按期摸排、评估、随访和回访；审核救助方案；对红色、"
                           "橙色个案和需要特批的结案把关；组织行政或司法干预；统筹本乡镇的培训。",
    "village_child_director": "村（居）儿童主任：本村儿童的第一联系人。入户摸排并填写调查表，参与评估，"
                              "牵头制定并落实救助方案，按期随访和回访；发现侵害线索立即报告。",
    "assessor_civil_affairs": "评估队伍（民政）：参与综合测评；需要时推动民政部门临时监护、长期监护或"
                              "申请撤销监护人资格等程序。",
    "assessor_womens_federation": "评估队伍（妇联）：参与入户摸排和综合测评；关注家庭教育和家庭暴力，"
                                  "组织家庭监护指导和亲职能力培训。",
    "assessor_police": "评估队伍（公安）：参与摸排和测评；接收强制报告，调查核实侵害事件，协助固定证据；"
                       "依法出具告诫书。",
    "assessor_education": "评估队伍（教育）：参与测评，掌握儿童在校、出勤和辍学风险，协助学校发现和报告。",
    "psychologist": "救助队伍（心理医生）：为儿童和监护人提供心理疏导，评估心理伤害程度。",
    "tutor": "救助队伍（家教老师）：为儿童提供学习辅导，留意学习和情绪变化。",
    "social_worker": "社会工作者：协助制定并执行救助方案，提供服务，随访和回访；可以承担个案工作。",
    "caring_mother": "爱心妈妈：日常陪伴和临时照料，发现异常及时告诉儿童主任。",
    "elder_volunteer": "“五老”志愿者：陪伴、劝导和邻里关照，协助随访。",
    "student_volunteer": "大学生志愿者：学业辅导和陪伴，常在寒暑假集中服务。",
    "media_volunteer": "媒体志愿者：宣传儿童保护知识；任何报道都不得透露儿童的姓名、照片、住址或学校。",
    "county_admin": "县级管理员：为各乡镇部署系统、备份数据、管理和启用插件，为每个乡镇生成操作手册。",
    "county_viewer": "县级查看人员：查看全县不含个人身份信息的汇总报表，了解各乡镇进度。",
    "trainer": "培训师：用本手册、岗位清单和演示数据组织培训；只看汇总数据，不接触真实个案。",
}

#: The command that does each permission action (``{form}`` is filled for ``record:<form>``).
ACTION_COMMANDS: dict[str, str] = {
    "import:screening": "jianhu import screening 调查表.xlsx",
    "import:assessment": "jianhu import assessment 评估表.xlsx",
    "close:override": "jianhu record closure --case 个案编号 closure.json（填写特批理由）",
    "view:reporter": "jianhu case show 个案编号（显示报告人）",
    "view:identified": "jianhu case show 个案编号",
    "documents:export": "jianhu case report 个案编号 --kind assessment --out 报告.pdf",
    "transfer:request": "jianhu transfer request 个案编号 --to 乡镇/村 --reason 原因",
    "transfer:decide": "jianhu transfer list；jianhu transfer accept 编号",
    "duplicates:list": "jianhu duplicates list",
    "duplicates:resolve": "jianhu duplicates resolve 编号 --same 或 --different",
    "audit:list": "jianhu audit list --case 个案编号",
    "records:on_behalf": "jianhu import records 记录.jsonl（行内写 as）",
    "people:import": "jianhu people import 名册.xlsx",
    "people:list": "jianhu people list",
    "view:cases": "jianhu cases list；jianhu case show 个案编号",
    "report:aggregate": "jianhu report summary --out 汇总表.xlsx",
    "plugins:configure": "jianhu plugins enable 插件名 --township 乡镇代码",
}

def action_tasks(action: str) -> list[str]:
    """Task kinds a permission action completes (:data:`jianhu.tasks.TASK_KINDS`: the kind's
    permission, or the ``record:`` permission of a form that completes it)."""
    from jianhu.tasks import TASK_KINDS

    return [k.code for k in TASK_KINDS
            if k.permission == action or action in {f"record:{f}" for f in k.completing_forms}
            or (action == "import:assessment" and "assessment" in k.completing_forms)]


def action_command(action: str) -> str | None:
    """The ``jianhu`` command line for a permission action (``None`` when this module names none;
    the checklist then points to the CLI reference)."""
    if action in ACTION_COMMANDS:
        return ACTION_COMMANDS[action]
    if action.startswith("record:"):
        form = action.split(":", 1)[1]
        return f"jianhu record {form} --case 个案编号 {form}.json"
    return None


def checklist_page(role: str) -> str:
    """Docs path of a role's checklist."""
    return f"{CHECKLISTS_DIR}/{role}.md"


def checklist_markdown(hb: Handbook, role: str, label: str) -> str:
    """One role's one-page checklist: duties, what it records with which command, its deadlines,
    and what it must leave to others."""
    from jianhu.roles import PERMISSIONS
    from jianhu.tasks import KIND_LABELS, KINDS

    page = checklist_page(role)
    allowed = [a for a, roles in PERMISSIONS.items() if role in roles]
    denied = [a for a in PERMISSIONS if a not in allowed]
    rules = deadline_rules(hb.policy)
    kinds = [k for k in KIND_LABELS if KINDS[k].owner_role == role
             or any(k in action_tasks(a) for a in allowed)]
    out = [f"# 岗位清单：{text(label)}\n\n",
           f"**职责**　{text(ROLE_DUTIES.get(role, '按乡镇分工承担相应工作。'))}\n\n",
           "**每次操作前**　用自己的编号操作（`--as 编号` 或设置 `JIANHU_USER`）；不把儿童的姓名、"
           "身份证号、照片、住址、学校发到工作群或带出系统。\n\n",
           "## 我在系统里做什么\n\n"]
    cli = relpath("developer/cli.md", page)
    rows = [[action_text(hb, a), code(cmd) if (cmd := action_command(a)) else
             Raw(f"见[命令行参考]({cli})")] for a in allowed]
    out.append(table(["工作", "命令"], rows) if rows else "本角色不在系统中登记记录。\n")
    out.append("\n## 我要盯住的期限\n\n")
    if kinds:
        out.append(table(["待办", "期限", "怎样办结"], [
            [KIND_LABELS[k], rules.get(k, ("", "（无说明）", ""))[1],
             rules.get(k, ("", "", "（无说明）"))[2]] for k in kinds]))
        out.append(f"\n数值按政策「{text(hb.policy.name)}」；各乡镇见"
                   f"[分级与随访政策]({relpath(POLICY_PAGE, page)})，全部期限见"
                   f"[期限与待办]({relpath(DEADLINES_PAGE, page)})。\n")
    else:
        out.append("本角色不在系统中登记有期限的记录；发现问题请当天告诉儿童主任或督导员。\n")
    if "mandatory_report" not in kinds:
        out.append("\n发现儿童疑似遭受侵害：**立即**告诉儿童主任或直接报警（110），不要等待。\n")
    out.append("\n## 需要请别人做的事\n\n")
    out.append(text([action_text(hb, a) for a in denied]) + "\n\n"
               f"（权限总表见[角色与权限]({relpath(ROLES_PAGE, page)})。）\n")
    return "".join(out)


def checklists_index(hb: Handbook) -> str:
    """The checklists overview page."""
    from jianhu.roles import role_labels

    path = f"{CHECKLISTS_DIR}/index.md"
    rows = [[link(label, relpath(checklist_page(role), path)), code(role),
             ROLE_DUTIES.get(role, "")] for role, label in role_labels().items()]
    return ("# 岗位清单\n\n每个角色一页，可单独打印发给参训人员：职责、在系统中登记什么、用哪条命令、"
            "要盯住哪些期限。清单由系统的权限表和期限规则生成。\n\n"
            + table(["角色", "代码", "职责"], rows))


# --------------------------------------------------------------------------- worked examples
@dataclass
class Examples:
    """The sample records the worked examples show (all invented by the sample generator).

    Attributes:
        survey: a screening payload of a child with a case.
        sheet: its assessment answer sheet (default scale).
        codes: the categories the survey gives.
        plan: the plan payload of the same child (``None`` when the sample has none).
        plan_as: roster code of who records the plan.
        closure: a closure payload of another child, ``None`` when none was found.
        closure_sheet: the re-assessment recorded before that closure.
        closure_as: roster code of who records the closure.
        roles: roster code → role code.
        prefix: the 9-digit township code of the example child.
    """

    survey: dict[str, Any]
    sheet: dict[str, Any]
    codes: list[str]
    plan: dict[str, Any] | None = None
    plan_as: str = ""
    closure: dict[str, Any] | None = None
    closure_sheet: dict[str, Any] | None = None
    closure_as: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    prefix: str = "320724100"


def _child_key(subject: dict[str, Any]) -> tuple:
    if subject.get("citizen_id"):
        return ("id", subject["citizen_id"])
    return ("name", subject.get("name"), subject.get("birth_date"))


def make_examples(hb: Handbook) -> Examples:
    """Generate the sample with seed :data:`SAMPLE_SEED` and pick the example records.

    Raises:
        KeyError: the default scale ``jianhu-default`` is not installed (the sample answers it).
        JianhuError: the sample cannot be made with the installed plugins.
    """
    from jianhu.cases import classify
    from jianhu.sample import _Gen, generate
    from jianhu.sample_casework import casework, roster

    host = hb.host
    scale = host.scales["jianhu-default"]
    gen = _Gen(SAMPLE_SEED, host)
    pairs = [(d, s) for d, s in generate(host, SAMPLE_CHILDREN, SAMPLE_SEED, gen) if s is not None]
    rng = random.Random(SAMPLE_SEED + 2)
    people = roster(rng, [(t.code, t.name, gen.villages[t.code]) for t in gen.towns], gen.name)
    lines = casework(rng, scale, pairs, {t.name: gen.villages[t.code] for t in gen.towns},
                     {t.name: t.code[:9] for t in gen.towns},
                     {lp.level: lp.visit_days for lp in hb.policy.levels})
    by_child: dict[tuple, list[dict]] = {}
    for line in lines:
        by_child.setdefault(_child_key(line["child"]), []).append(line)

    def plan_of(sheet: dict) -> dict | None:
        return next((ln for ln in by_child.get(_child_key(sheet["subject"]), [])
                     if ln["form"] == "plan"), None)

    def score(survey: dict, sheet: dict) -> tuple[int, Any]:
        on = dt.date.fromisoformat(survey["survey"]["date"])
        codes = classify(host.target_categories, survey, on)
        result = scale.score(sheet)
        age = (on - dt.date.fromisoformat(survey["child"]["birth_date"])).days // 365
        good = (0 if result.emergency else 1) + (1 if result.level in ("orange", "yellow") else 0) \
            + (1 if "left_behind" in codes else 0) + (1 if plan_of(sheet) else 0) \
            + (1 if 7 <= age <= 14 else 0)
        return good, codes

    best = max(pairs, key=lambda p: score(*p)[0])
    survey, sheet = best
    ex = Examples(survey=survey, sheet=sheet, codes=score(survey, sheet)[1],
                  roles={p["person"]["code"]: p["person"]["role"] for p in people})
    ex.prefix = next(t.code[:9] for t in gen.towns if t.name == survey["residence"]["township"])
    plan = plan_of(sheet)
    if plan is not None:
        ex.plan, ex.plan_as = plan["payload"], plan["as"]
    for line in lines:
        if line["form"] == "closure":
            same = by_child[_child_key(line["child"])]
            before = [ln for ln in same[:same.index(line)] if ln["form"] == "assessment"]
            ex.closure, ex.closure_as = line["payload"], line["as"]
            ex.closure_sheet = before[-1]["payload"] if before else None
            break
    return ex


def _mask_id(value: str) -> str:
    """Hide the birth date and sequence of a citizen ID (``320724********123X`` style)."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else value


def _json(doc: dict[str, Any]) -> str:
    return fenced(json.dumps(doc, ensure_ascii=False, indent=2), "json")


def _note(ex: Examples) -> str:
    return ("!!! note \"样例说明\"\n    本页由系统的样例数据生成器（`jianhu sample`，固定随机种子"
            f" {SAMPLE_SEED}）生成，人物均为虚构；身份证号在手册中隐去了中间位，实际填写时须填完整。"
            "表单、量表或随访政策一改，本页随之变化。\n\n")


def survey_example(hb: Handbook, ex: Examples) -> str:
    """Worked example: a filled basic situation survey and what the system makes of it."""
    from jianhu.cases import guardianship_rating, needs_case
    from jianhu.forms import load_form
    from jianhu.timeline import RATING_LABELS

    page = f"{EXAMPLES_DIR}/survey.md"
    form = load_form(hb.host, "screening")
    rows, empty = [], 0
    for f in form.fields:
        value = ex.survey.get(f.group, {}).get(f.key)
        if value is None:
            empty += 1
            continue
        shown = _mask_id(value) if f.kind == "citizen_id" else f.label(value)
        rows.append([f.column, shown])
    labels = {c.code: c.label for c in hb.host.target_categories}
    cats = [labels.get(c, c) for c in ex.codes]
    rating = RATING_LABELS.get(guardianship_rating(ex.survey), "")
    return (f"# 示例：填好的基本情况调查表\n\n{_note(ex)}"
            f"一名儿童一份[{text(form.title)}]({relpath(form_page('screening'), page)})。"
            f"下表是本例填写的{len(rows)}列（另有{empty}列本例不适用，留空）。\n\n"
            + table(["列名", "填写内容"], rows)
            + "\n## 系统据此做了什么\n\n"
            + table(["项目", "结果"], [
                ["目标人群类别", "、".join(cats) or "无"],
                ["监护状况评级（民发〔2016〕42号）", rating],
                ["是否开立个案", "是（有类别或监护状况为差）" if needs_case(ex.codes, ex.survey) else "否"],
                ["下一步", "由评估队伍做综合测评"]])
            + "\n导入命令：`jianhu import screening 调查表.xlsx`（先用 "
              "`jianhu template screening --out 调查表.xlsx` 取得空白模板）。\n")


def _schedule_rows(hb: Handbook, level: str | None, on: dt.date, emergency: bool) -> list[list]:
    lp = hb.policy.for_level(level or "green")
    rows = [["随访", (on + dt.timedelta(days=lp.visit_days)).isoformat(), f"{lp.visit_days}天后"],
            ["再评估", (on + dt.timedelta(days=lp.reassess_days)).isoformat(),
             f"{lp.reassess_days}天后"]]
    if emergency:
        hours = hb.policy.mandatory_report_hours
        rows.insert(0, ["强制报告", on.isoformat(), f"立即；{hours}小时后显示逾期"])
    return rows


def assessment_example(hb: Handbook, ex: Examples) -> str:
    """Worked example: an assessment answer sheet, its scores, its level and the follow-ups it
    schedules."""
    from jianhu.forms import load_form

    page = f"{EXAMPLES_DIR}/assessment.md"
    scale = hb.host.scales["jianhu-default"]
    form = load_form(hb.host, scale.form_id)
    domains = dict(form.schema.get("x-domains", {}))
    result = scale.score(ex.sheet)
    em_rows, item_rows = [], []
    for item in scale.items:
        choices = dict(item.choices)
        if item.domain == "emergency":
            value = ex.sheet.get("emergency", {}).get(item.id)
            em_rows.append([item.title, choices.get(value, text(value))])
        else:
            value = ex.sheet.get("items", {}).get(item.id)
            item_rows.append([domains.get(item.domain, item.domain), item.title,
                              choices.get(value, text(value))])
    score_rows = [[domains.get(d, d), f"{v:g}" if isinstance(v, int | float) else text(v)]
                  for d, v in result.scores.items()]
    on = dt.date.fromisoformat(ex.sheet["assessment"]["date"])
    doc = {k: v for k, v in ex.sheet.items() if k != "subject"}
    level = result.level
    return (f"# 示例：评估、计分与定级\n\n{_note(ex)}"
            f"上一页那名儿童的评估，用[{text(scale.title)}]({relpath(scale_page(scale.name), page)})。"
            f"评估日期 {on.isoformat()}。\n\n## 第一步：紧急筛查\n\n"
            + table(["条目", "回答"], em_rows)
            + "\n## 第二步：逐项评分\n\n" + table(["维度", "条目", "评分"], item_rows)
            + "\n## 结果\n\n" + table(["维度", "得分"], score_rows)
            + "\n" + table(["项目", "结果"], [
                ["总分", f"{result.total:g}" if result.total is not None else "—"],
                ["紧急筛查", "有「是」：直接定为红色并生成强制报告" if result.emergency else "均为「否」"],
                ["等级", level_text(level)]])
            + f"\n等级按[量表页]({relpath(scale_page(scale.name), page)})的阈值与规则确定。\n\n"
            "## 系统随后排定的待办\n\n"
            + table(["待办", "到期日", "规则"], _schedule_rows(hb, level, on, bool(result.emergency)))
            + f"\n（按政策「{text(hb.policy.name)}」。）\n\n## 登记方法\n\n"
            f"把答题保存为 JSON 文件后：`jianhu assess {ex.prefix}-2026-0001 --answers 评估.json`"
            "（批量时用 `jianhu import assessment 评估表.xlsx`）。文件内容：\n\n" + _json(doc))


def plan_example(hb: Handbook, ex: Examples) -> str:
    """Worked example: an assistance plan with named owners and what the system schedules."""
    from jianhu.forms import load_form
    from jianhu.roles import role_labels

    page = f"{EXAMPLES_DIR}/plan.md"
    if ex.plan is None:
        return "# 示例：救助方案\n\n本次样例中没有救助方案。\n"
    form = load_form(hb.host, "plan")
    item_props = form.schema["properties"]["measures"]["items"]["properties"]
    type_labels = {o["const"]: o["title"] for o in item_props["service_type"].get("oneOf", [])}
    roles = role_labels()
    p = ex.plan["plan"]
    rows = []
    for i, m in enumerate(ex.plan["measures"], start=1):
        who = m["responsible"]
        rows.append([i, type_labels.get(m["service_type"], m["service_type"]), m["description"],
                     f"{who}（{roles.get(ex.roles.get(who, ''), '名册人员')}）",
                     m.get("partner", ""), m["start"], m["due"]])
    tasks = [[f"第{i}项措施到期", m["due"]] for i, m in enumerate(ex.plan["measures"], start=1)]
    return (f"# 示例：救助方案\n\n{_note(ex)}"
            f"同一名儿童评估后制定的[{text(form.title)}]({relpath(form_page('plan'), page)})。"
            "每项措施都写明责任人（人员名册编号）和完成期限，做到责任到人（新政发〔2016〕8号 四（三））。\n\n"
            + table(["项目", "内容"], [["制定日期", p["date"]], ["干预目标", p["goals"]]])
            + "\n" + table(["序号", "服务类型", "措施内容", "责任人", "合作单位", "开始", "完成期限"], rows)
            + "\n## 系统随后做什么\n\n- 个案状态由「已评估」转为「干预中」。\n"
            "- 每项措施的完成期限列入待办；登记服务时填写「对应方案措施序号」并勾选"
            "「该措施已完成」即办结。\n\n"
            + table(["待办", "到期日"], tasks)
            + f"\n## 登记方法\n\n`jianhu --as {ex.plan_as} record plan --case {ex.prefix}-2026-0001 "
            "救助方案.json`，文件内容：\n\n" + _json(ex.plan))


def closure_example(hb: Handbook, ex: Examples) -> str:
    """Worked example: a closure report, its preconditions and the return visits it schedules."""
    from jianhu.followups import add_months
    from jianhu.forms import load_form

    page = f"{EXAMPLES_DIR}/closure.md"
    if ex.closure is None:
        return "# 示例：结案报告\n\n本次样例中没有结案的个案。\n"
    form = load_form(hb.host, "closure")
    cl = ex.closure["closure"]
    rows = [[f.column, f.label(cl.get(f.key))] for f in form.fields if cl.get(f.key) is not None]
    on = dt.date.fromisoformat(cl["date"])
    visits = [[f"第{i}次回访", add_months(on, hb.policy.return_visit_months * i).isoformat()]
              for i in range(1, hb.policy.return_visit_count + 1)]
    pre = ""
    if ex.closure_sheet is not None:
        result = hb.host.scales["jianhu-default"].score(ex.closure_sheet)
        pre = (f"结案前 {ex.closure_sheet['assessment']['date']} 再次评估：总分 "
               f"{result.total:g}，等级 {level_text(result.level)}。")
    return (f"# 示例：结案报告\n\n{_note(ex)}"
            f"另一名儿童经再次评估困境已解除，填写"
            f"[{text(form.title)}]({relpath(form_page('closure'), page)})。"
            f"{text(pre)}\n\n"
            + table(["列名", "填写内容"], rows)
            + "\n## 能否结案\n\n系统在两种情况下拒绝结案：还有未办的强制报告；最近一次评估高于绿色。"
            "确需结案时由督导员填写「特批理由」并以督导员身份登记。\n\n"
            "## 系统随后做什么\n\n- 个案状态转为「已结案」；未办的随访、再评估、措施期限、告诫书查访和"
            "临时监护评估一并取消。\n"
            f"- 按政策「{text(hb.policy.name)}」排定回访：每{hb.policy.return_visit_months}个月一次，"
            f"共{hb.policy.return_visit_count}次。\n\n"
            + table(["回访", "到期日"], visits)
            + f"\n## 登记方法\n\n`jianhu --as {ex.closure_as} record closure --case "
            f"{ex.closure_as.split('-')[0]}-2026-0002 结案.json`，文件内容：\n\n" + _json(ex.closure))


def examples_pages(hb: Handbook) -> list[tuple[str, str, str]]:
    """``(path, title, markdown)`` of the worked examples; on failure one page explaining why."""
    try:
        ex = make_examples(hb)
    except Exception as exc:  # a township set-up the sample generator cannot serve
        log.warning("操作手册：样例无法生成：%r", exc)
        return [(f"{EXAMPLES_DIR}/survey.md", "示例",
                 f"# 示例\n\n!!! warning \"样例无法生成\"\n    {text(repr(exc))}\n")]
    return [
        (f"{EXAMPLES_DIR}/survey.md", "填好的调查表", survey_example(hb, ex)),
        (f"{EXAMPLES_DIR}/assessment.md", "评估与定级", assessment_example(hb, ex)),
        (f"{EXAMPLES_DIR}/plan.md", "救助方案", plan_example(hb, ex)),
        (f"{EXAMPLES_DIR}/closure.md", "结案报告", closure_example(hb, ex)),
    ]
