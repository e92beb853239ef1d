"""Generated reference pages: forms, scales, policy, lifecycle, deadlines, roles, categories.

Every function here reads the running system (the plugin host, :mod:`jianhu.lifecycle`,
:mod:`jianhu.followups`, :mod:`jianhu.records`, :mod:`jianhu.roles`) and returns Markdown, so the
handbook says what the code does. Rules stated in words (the deadline table) name the same sources
as the code they describe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jianhu.extensions import LEVEL_LABELS, LEVELS, FollowupPolicy, LevelPolicy, Scale
from jianhu.forms.fields import field_choices, field_kind
from jianhu.handbook.md import code, fenced, link, relpath, table, text

if TYPE_CHECKING:
    from jianhu.forms import Form
    from jianhu.handbook.model import Handbook

FORMS_DIR = "reference/forms"
SCALES_DIR = "reference/scales"
POLICY_PAGE = "reference/policy.md"
LIFECYCLE_PAGE = "reference/lifecycle.md"
DEADLINES_PAGE = "reference/deadlines.md"
ROLES_PAGE = "reference/roles.md"
REPORTS_PAGE = "reference/reports.md"

KIND_ZH = {
    "date": "日期", "citizen_id": "身份证号", "boolean": "是/否", "integer": "整数",
    "number": "数字", "enum": "单选", "multi": "多选", "string": "文字", "list": "多项文字",
}

#: Chinese names of :class:`~jianhu.extensions.FollowupPolicy` fields (other fields show their
#: code name, so a new field still appears in the handbook).
POLICY_FIELD_LABELS = {
    "mandatory_report_hours": ("强制报告逾期时限", "小时"),
    "return_visit_months": ("结案回访间隔", "个月"),
    "return_visit_count": ("结案后安排回访次数", "次"),
    "warning_letter_visit_days": ("告诫书出具后查访", "日（第几日）"),
    "guardianship_review_days": ("临时监护后评估期限", "日"),
    "worse_visit_reassess_days": ("随访发现恶化后再评估期限", "日"),
}
#: Chinese names of :class:`~jianhu.extensions.LevelPolicy` fields.
LEVEL_FIELD_LABELS = {
    "visit_days": "随访间隔（天）",
    "reassess_days": "再评估间隔（天）",
}
#: Chinese column titles for keys found in :attr:`Scale.thresholds` rows.
THRESHOLD_KEYS = {
    "level": "等级", "min_total": "总分下限（≥）", "max_total": "总分上限（≤）", "rule": "规则",
    "domains": "维度", "at_least": "至少为", "norms": "常模", "score": "分数", "band": "分段",
    "label": "分段名称", "min": "最低分", "max": "最高分", "factor": "因子", "title": "名称",
    "services_at_most_2": "评为2及以下时建议的服务", "extra_at_1": "评为1时另加的服务",
    "min_answered": "最少作答题数", "needs_at_most": "需要服务的评分（≤）",
}


def form_page(form_id: str) -> str:
    """Docs path of the reference page of form ``form_id``."""
    return f"{FORMS_DIR}/{form_id}.md"


def scale_page(name: str) -> str:
    """Docs path of the reference page of scale ``name``."""
    return f"{SCALES_DIR}/{name}.md"


def level_text(level: Any) -> str:
    """``"红（red）"`` for a level code; other values unchanged."""
    if isinstance(level, str) and level in LEVEL_LABELS:
        return f"{LEVEL_LABELS[level]}（{level}）"
    return text(level)


# ----------------------------------------------------------------------------------- forms

def _constraints(s: Mapping[str, Any]) -> list[str]:
    out = []
    if "minimum" in s or "maximum" in s:
        out.append(f"范围 {s.get('minimum', '')}—{s.get('maximum', '')}")
    if "maxLength" in s:
        out.append(f"最多{s['maxLength']}字")
    if s.get("format") == "date-time":
        out.append("带时区的时间")
    if "pattern" in s:
        out.append(f"格式 {s['pattern']}")
    if "minItems" in s:
        out.append(f"至少{s['minItems']}项")
    return out


def _help(s: Mapping[str, Any]) -> str:
    parts = [str(s["description"]).rstrip("。")] if s.get("description") else []
    parts += [c for c in _constraints(s) if not (c.startswith("格式") and parts)]
    if s.get("examples"):
        parts.append("例：" + "、".join(str(e) for e in s["examples"]))
    return "；".join(parts)


def _choice_text(pairs: Sequence[tuple[Any, str]]) -> str:
    return "\n".join(f"{label}（{value}）" if str(value) != label else label for value, label in pairs)


def field_rows(form: Form) -> list[list[Any]]:
    """One table row per leaf field of ``form`` (the spreadsheet columns), in form order:
    column title, ``group.key``, type, required, allowed values, help text."""
    rows = []
    for f in form.fields:
        kind = f.kind if f.kind != "multi" or f.choices else "list"
        rows.append([f.column, code(f"{f.group}.{f.key}"), KIND_ZH.get(kind, kind),
                     "是" if f.required else "", _choice_text(f.choices), _help(f.schema)])
    return rows


def _array_groups(form: Form) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """Top-level array-of-object properties (e.g. the plan's ``measures``): ``(key, group schema,
    item schema)``. Their sub-fields are not spreadsheet columns but are part of the form."""
    out = []
    for key, g in form.schema.get("properties", {}).items():
        items = g.get("items", {})
        if g.get("type") == "array" and items.get("type") == "object":
            out.append((key, g, items))
    return out


def form_markdown(hb: Handbook, form: Form) -> str:
    """The reference page of one form: title, purpose, how it is used, every field.

    Raises:
        nothing of its own; a broken schema fails earlier in :func:`jianhu.forms.load_form`.
    """
    from jianhu.lifecycle import RECORD_FORMS

    path = form_page(form.id)
    out = [f"# {text(form.title)}\n\n",
           table(["项目", "内容"], [
               ["表单代码", code(form.id)], ["版本", form.version],
               ["提供插件", hb.owner("jianhu_forms", form.id)],
               ["插件增加的字段组", "、".join(form.extensions) or "无"],
               ["字段数", len(form.fields)]])]
    if form.schema.get("description"):
        out.append(f"\n{text(form.schema['description'])}\n")
    uses = []
    if form.id in RECORD_FORMS or form.id == "assessment":
        uses.append(f"在个案上登记：{hb.command_link('record', path)}，例如 "
                    f"`jianhu record {form.id} --case 个案编号 {form.id}.json`（JSON 文件按下表字段填写）。")
    if form.id in ("screening", "assessment", "person"):
        what = {"screening": "import screening", "assessment": "import assessment",
                "person": "people import"}[form.id]
        uses.append(f"批量导入：{hb.command_link(what, path)}；空白模板："
                    f"`jianhu template {form.id} --out 模板.xlsx`（第二个工作表逐列说明）。")
    if uses:
        out.append("\n## 怎么用\n\n" + "\n".join(f"- {u}" for u in uses) + "\n")
    out.append("\n## 字段\n\n表中「列名」是导入表格的列标题；「必填」只列出该组填写时必须填的字段"
               "（有条件的要求见说明）。\n")
    groups: dict[str, list[list[Any]]] = {}
    for f, row in zip(form.fields, field_rows(form), strict=True):
        groups.setdefault(f.group, []).append(row)
    props = form.schema.get("properties", {})
    top_required = set(form.schema.get("required", ()))
    for group, rows in groups.items():
        g = props.get(group, {})
        title = g.get("title", group)
        need = "必填" if group in top_required else "选填"
        out.append(f"\n### {text(title)}（{text(group)}，{need}）\n")
        if g.get("description"):
            out.append(f"\n{text(g['description'])}\n")
        out.append("\n" + table(["列名", "字段", "类型", "必填", "可选值", "说明"], rows))
    for key, g, items in _array_groups(form):
        need = "必填" if key in top_required else "选填"
        out.append(f"\n### {text(g.get('title', key))}（{text(key)}，{need}，可填多项）\n")
        if g.get("description"):
            out.append(f"\n{text(g['description'])}\n")
        req = set(items.get("required", ()))
        sub_rows = []
        for k, s in items.get("properties", {}).items():
            kind = field_kind(s)
            sub_rows.append([s.get("title", k), code(f"{key}[].{k}"),
                         KIND_ZH.get(kind, kind),
                         "是" if k in req else "", _choice_text(field_choices(s)), _help(s)])
        out.append("\n" + table(["名称", "字段", "类型", "必填", "可选值", "说明"], sub_rows))
    return "".join(out)


def forms_index(hb: Handbook) -> str:
    """The forms overview page: one row per installed form with a link to its page."""
    from jianhu.forms import load_form

    rows = []
    for form_id in sorted(hb.host.forms):
        form = load_form(hb.host, form_id)
        rows.append([link(form.title, relpath(form_page(form_id), f"{FORMS_DIR}/index.md")),
                     code(form_id), form.version, len(form.fields),
                     hb.owner("jianhu_forms", form_id)])
    return ("# 表单\n\n本系统的每一份表单都是一个 JSON Schema 文档；下列各页由运行中的系统逐字段生成，"
            "包括乡镇插件增加的字段。\n\n"
            + table(["表单", "代码", "版本", "字段数", "提供插件"], rows))


# ---------------------------------------------------------------------------------- scales
def _domain_titles(hb: Handbook, scale: Scale) -> dict[str, str]:
    from jianhu.forms import load_form

    try:
        form = load_form(hb.host, scale.form_id)
    except Exception:  # a scale whose form is missing still gets its page
        return {}
    domains = form.schema.get("x-domains", {})
    titles = dict(domains) if isinstance(domains, Mapping) else {}
    titles.setdefault("emergency", "紧急筛查")
    return titles


def threshold_tables(thresholds: Sequence[Mapping[str, Any]]) -> str:
    """Render :attr:`Scale.thresholds` rows as tables, one per run of rows with the same keys."""
    if not thresholds:
        return "（该量表没有登记阈值。）\n"
    out = []
    group: list[Mapping[str, Any]] = []

    def flush() -> None:
        if not group:
            return
        keys = list(group[0])
        rows = [[level_text(r.get(k)) if k in ("level", "at_least") else r.get(k) for k in keys]
                for r in group]
        out.append(table([THRESHOLD_KEYS.get(k, k) for k in keys], rows))
        group.clear()

    for row in thresholds:
        if group and list(row) != list(group[0]):
            flush()
            out.append("\n")
        group.append(row)
    flush()
    return "".join(out)


def scale_markdown(hb: Handbook, scale: Scale) -> str:
    """The reference page of one scale: purpose, items, scoring, thresholds."""
    path = scale_page(scale.name)
    domains = _domain_titles(hb, scale)
    per_domain: dict[str, list[Any]] = {}
    for item in scale.items:
        per_domain.setdefault(item.domain, []).append(item)
    out = [f"# {text(scale.title)}\n\n",
           table(["项目", "内容"], [
               ["量表代码", code(scale.name)], ["计分规则版本", scale.version],
               ["答题表", link(hb.form_title(scale.form_id), relpath(form_page(scale.form_id), path))
                if scale.form_id in hb.host.forms else scale.form_id],
               ["能否确定风险等级", "能（用于分级）" if scale.sets_level
                else "不能（只用于了解需求，不改变个案等级）"],
               ["来源", scale.source], ["提供插件", hb.owner("jianhu_scales", scale.name)],
               ["条目数", len(scale.items)]])]
    out.append("\n## 计分\n\n")
    rows = []
    for domain, items in per_domain.items():
        numeric = [v for i in items for v, _ in i.choices if isinstance(v, int | float)
                   and not isinstance(v, bool)]
        if domain == "emergency" or not numeric:
            span = "任一为「是」即触发" if domain == "emergency" else "—"
        else:
            lo = sum(min(v for v, _ in i.choices) for i in items)
            hi = sum(max(v for v, _ in i.choices) for i in items)
            span = f"{lo}—{hi}"
        rows.append([domains.get(domain, domain), code(domain), len(items), span])
    out.append(table(["维度", "代码", "条目数", "分值范围"], rows))
    doc = (scale.score.__doc__ or "").strip()
    if doc:
        out.append("\n??? note \"计分函数说明（开发者）\"\n\n"
                   + "\n".join("    " + line for line in fenced(_dedent(doc)).splitlines()) + "\n")
    out.append("\n## 分级阈值与规则\n\n")
    out.append(threshold_tables(scale.thresholds))
    out.append("\n## 条目\n\n")
    item_rows = [[i, code(item.id), item.title, domains.get(item.domain, item.domain),
                  _choice_text([(v, lab) for v, lab in item.choices])]
                 for i, item in enumerate(scale.items, start=1)]
    out.append(table(["序号", "条目代码", "题目", "维度", "选项"], item_rows))
    return "".join(out)


def _dedent(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def scales_index(hb: Handbook) -> str:
    """The scales overview page."""
    rows = [[link(s.title, relpath(scale_page(name), f"{SCALES_DIR}/index.md")), code(name),
             s.version, "是" if s.sets_level else "否", len(s.items), s.source]
            for name, s in sorted(hb.host.scales.items())]
    return ("# 量表\n\n已安装的评估工具。只有「用于分级」为「是」的量表能确定个案的风险等级；"
            "其他量表（如需求评估）只记录分数，供制定救助方案参考。\n\n"
            + table(["量表", "代码", "版本", "用于分级", "条目数", "来源"], rows))


# ---------------------------------------------------------------------------------- policy
def level_rows(policy: FollowupPolicy) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the per-level table of ``policy`` (every :class:`LevelPolicy` field)."""
    names = [f.name for f in dataclasses.fields(LevelPolicy) if f.name != "level"]
    headers = ["等级"] + [LEVEL_FIELD_LABELS.get(n, n) for n in names]
    by_level = {lp.level: lp for lp in policy.levels}
    order = [c for c, _ in LEVELS] + [lv for lv in by_level if lv not in LEVEL_LABELS]
    rows = [[level_text(lv)] + [getattr(by_level[lv], n) for n in names]
            for lv in order if lv in by_level]
    return headers, rows


def other_policy_rows(policy: FollowupPolicy) -> list[list[Any]]:
    """Rows ``[label, value, unit, code]`` for every policy field other than name/levels/source."""
    rows = []
    for f in dataclasses.fields(FollowupPolicy):
        if f.name in ("name", "levels", "source"):
            continue
        label, unit = POLICY_FIELD_LABELS.get(f.name, (f.name, ""))
        rows.append([label, getattr(policy, f.name), unit, code(f.name)])
    return rows


def policy_markdown(hb: Handbook) -> str:
    """The grading and follow-up policy page: every distinct policy and the townships it covers."""
    out = ["# 分级与随访政策\n\n"
           "评估定级后，系统按个案所在乡镇的随访政策排定下一次随访和再评估；强制报告、结案回访、"
           "告诫书查访等期限也取自这里。政策由插件提供，乡镇可以替换；下表即本手册生成时系统实际"
           "使用的数值。\n"]
    for policy, towns in hb.policies:
        out.append(f"\n## 政策「{text(policy.name)}」\n\n")
        out.append(f"适用乡镇：{text([t.name for t in towns])}\n\n来源：{text(policy.source)}\n\n")
        out.append("### 各等级随访与再评估\n\n")
        headers, rows = level_rows(policy)
        out.append(table(headers, rows))
        out.append("\n### 其他期限\n\n")
        out.append(table(["项目", "数值", "单位", "字段"], other_policy_rows(policy)))
    levels = [[level_text(c), label] for c, label in LEVELS]
    out.append("\n## 风险等级\n\n四个等级按江苏省「四色管理」的做法从重到轻排列"
               "（省级文件未给出分级定义，阈值见各量表页面）。\n\n")
    out.append(table(["等级", "颜色"], levels))
    return "".join(out)


# ------------------------------------------------------------------------------- lifecycle
def mermaid_lifecycle() -> str:
    """A Mermaid ``stateDiagram-v2`` of :data:`jianhu.lifecycle.TRANSITIONS`."""
    from jianhu.lifecycle import EVENTS, STATES, TRANSITIONS

    lines = ["stateDiagram-v2"]
    for code_, label in STATES.items():
        lines.append(f'    state "{label}" as {code_}')
    lines.append("    [*] --> registered : 入户摸排开立个案")
    for (state, event), to in TRANSITIONS.items():
        lines.append(f"    {state} --> {to} : {EVENTS.get(event, event)}")
    return fenced("\n".join(lines), "mermaid")


def lifecycle_markdown(hb: Handbook) -> str:
    """The lifecycle page: the state diagram, every transition, and the escalation track."""
    from jianhu.forms import load_form
    from jianhu.lifecycle import ACTIVE, CLOSED, EVENTS, STATES, TRANSITIONS
    from jianhu.records import ADMINISTRATIVE, JUDICIAL

    out = ["# 个案状态与转换\n\n个案从开立到结案、回访，每一步都由登记的表单推动。系统只接受下图中的转换，"
           "其他操作会被拒绝并给出中文提示，数据不变。\n\n", mermaid_lifecycle(), "\n## 状态\n\n"]
    rows = [[label, code(c), "干预中（可登记服务、随访、升级干预）" if c in ACTIVE
             else "已结案（可登记回访）" if c in CLOSED else ""] for c, label in STATES.items()]
    out.append(table(["状态", "代码", "所属阶段"], rows))
    out.append("\n## 转换\n\n")
    out.append(table(["当前状态", "事件", "转换后状态"], [
        [STATES.get(s, s), f"{EVENTS.get(e, e)}（{e}）", STATES.get(to, to)]
        for (s, e), to in TRANSITIONS.items()]))
    out.append("\n## 事件由哪份记录触发\n\n")
    out.append(table(["事件", "触发的登记"], [[EVENTS.get(e, e), how] for e, how in (
        ("grade", "评估（jianhu assess、jianhu import assessment、jianhu record assessment）"),
        ("plan", "救助方案（jianhu record plan）"),
        ("close", "结案报告（jianhu record closure）"),
        ("return_visit", "回访记录（jianhu record return_visit）"),
        ("reopen", "回访发现风险，或已结案个案登记侵害事件报告"),
    ) if e in EVENTS]))
    try:
        step = load_form(hb.host, "escalation").by_path["escalation", "step"]
        label = step.label
    except Exception:  # the escalation form was replaced by a plugin without this field
        def label(v: Any) -> str:
            return str(v)
    out.append("\n## 升级干预轨道\n\n升级干预（新政发〔2016〕8号 四（五））不改变个案状态，"
               "而是记在个案的「干预升级」上：先行政干预，无效再司法干预，只升不降。\n\n")
    out.append(table(["轨道", "步骤"], [
        ["行政干预", "、".join(label(s) for s in ADMINISTRATIVE)],
        ["司法干预", "、".join(label(s) for s in JUDICIAL)]]))
    return "".join(out)


# ------------------------------------------------------------------------------- deadlines
def deadline_rules(policy: FollowupPolicy) -> dict[str, tuple[str, str, str, str]]:
    """Task kind → (what creates it, the rule, what completes it, legal source), read from
    :data:`jianhu.tasks.TASK_KINDS` with the figures of ``policy``."""
    from jianhu.tasks import TASK_KINDS

    return {k.code: (k.made_when, k.due_rule(policy), k.completed_by, k.source)
            for k in TASK_KINDS}


def guardianship_changes_table() -> str:
    """The guardianship changes (:data:`jianhu.guardianship.CHANGES`): what each does to the
    guardians in force, and its source."""
    from jianhu.guardianship import CHANGES

    return table(["变更类型", "对现任监护人的影响", "依据"],
                 [[name, effect, source] for name, effect, source in CHANGES.values()])


def closure_conditions_table() -> str:
    """The conditions that refuse a closure (:data:`jianhu.records.CLOSURE_CONDITIONS`) and who
    may close a case that went to court (:data:`jianhu.lifecycle.JUDICIAL_CLOSERS`)."""
    from jianhu.lifecycle import JUDICIAL_CLOSERS
    from jianhu.records import CLOSURE_CONDITIONS
    from jianhu.roles import role_labels

    rows = [[cond, "督导员可填写特批理由后结案" if override else "不能特批", source]
            for cond, override, source in CLOSURE_CONDITIONS]
    closers = "、".join(role_labels().get(r, r) for r in sorted(JUDICIAL_CLOSERS))
    return (table(["拒绝结案的情形", "能否特批", "依据"], rows)
            + f"\n进入过司法干预的个案，只能由{closers}结案。\n")


def deadlines_markdown(hb: Handbook) -> str:
    """The deadlines page: every task kind of :data:`jianhu.tasks.TASK_KINDS` with its rule and
    whose task it is."""
    from jianhu.roles import role_labels
    from jianhu.tasks import TASK_KINDS, WINDOW_DAYS

    roles = role_labels()
    rows = [[k.label, code(k.code), k.made_when, k.due_rule(hb.policy), k.completed_by,
             roles.get(k.owner_role, k.owner_role), k.source] for k in TASK_KINDS]
    return ("# 期限与待办\n\n系统把每一项有期限的工作记成「待办」。`jianhu followups due` 列出已逾期和"
            f"{WINDOW_DAYS}日内到期的待办，强制报告永远排在最前。日期按北京时间计算：某日到期的事项当天不算逾期，"
            "次日零点起算逾期。\n\n"
            f"本页数值按政策「{text(hb.policy.name)}」（{text(hb.policy_scope)}）；"
            f"各乡镇的数值见[分级与随访政策]({relpath(POLICY_PAGE, DEADLINES_PAGE)})。\n\n"
            + "每项待办都有责任人：表单上写明的人（如方案措施的责任人、侵害事件的登记人），"
            "没有写明的归下表「责任岗位」在该乡镇（村）的人员；`jianhu followups due --mine` 和网页"
            "「我的待办」列出本人的待办。\n\n"
            + table(["待办事项", "代码", "何时产生", "期限", "怎样办结", "责任岗位", "依据"], rows))


# ----------------------------------------------------------------------------- roles, etc.
#: Role groups of :mod:`jianhu.roles` (attribute name → Chinese name) shown as a role's teams.
TEAMS = (("CASEWORKERS", "个案工作"), ("SUPERVISORS", "督导"), ("ASSESSORS", "评估队伍"),
         ("SUPPORT", "救助队伍"), ("COUNTY", "县级"))


def team_of(role: str) -> list[str]:
    """The role groups of :mod:`jianhu.roles` a role belongs to, in Chinese."""
    from jianhu import roles

    return [name for attr, name in TEAMS if role in getattr(roles, attr, frozenset())]


def action_text(hb: Handbook, action: str) -> str:
    """Chinese label of a permission action: the label of :data:`jianhu.roles.ACTION_LABELS`, or
    「登记」 + the form's title for ``record:<form>``."""
    from jianhu.roles import ACTION_LABELS

    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith("record:"):
        return "登记" + hb.form_title(action.split(":", 1)[1])
    return action


def roles_table() -> str:
    """Table of every role: Chinese name, code, teams."""
    from jianhu.roles import role_labels

    return table(["角色", "代码", "所属"], [[label, code(role), "、".join(team_of(role)) or "—"]
                                         for role, label in role_labels().items()])


def roles_markdown(hb: Handbook) -> str:
    """The roles page: every role and the permission matrix of :data:`jianhu.roles.PERMISSIONS`."""
    from jianhu.roles import PERMISSIONS, role_labels

    labels = role_labels()
    out = ["# 角色与权限\n\n人员名册中的每个人有一个角色；系统按角色决定谁能做什么（最小权限，"
           "《个人信息保护法》第51条）。操作时用 `--as 编号` 或环境变量 `JIANHU_USER` 说明是谁在操作。\n\n",
           roles_table(), "\n## 权限\n\n"]
    rows = []
    for action, allowed in PERMISSIONS.items():
        rows.append([action_text(hb, action), code(action),
                     "、".join(labels.get(r, r) for r in labels if r in allowed)])
    out.append(table(["操作", "代码", "可以操作的角色"], rows))
    out.append(service_view_markdown(hb))
    return "".join(out)


def service_view_markdown(hb: Handbook) -> str:
    """What service providers see of each record (:data:`jianhu.disclosure.SERVICE_VIEW`)."""
    from jianhu.disclosure import SERVICE_VIEW
    from jianhu.forms import load_form
    from jianhu.roles import ASSIGNED_ONLY, role_labels

    labels = role_labels()
    who = "、".join(labels[r] for r in labels if r in ASSIGNED_ONLY)
    rows = []
    for form_id in RECORD_ORDER:
        if form_id not in hb.host.forms:
            continue
        form = load_form(hb.host, form_id)
        allowed = SERVICE_VIEW.get(form_id, frozenset())
        names = []
        for path in sorted(allowed):
            group, _, field_name = path.partition(".")
            if field_name == "*":
                group_schema = form.schema.get("properties", {}).get(group, {})
                names.append(f"{group_schema.get('title', group)}（全部）")
            elif (group, field_name) in form.by_path:
                names.append(form.by_path[group, field_name].column)
        rows.append([form.title, "、".join(names) or "不显示"])
    return ("\n## 救助队伍看到的内容\n\n" + who + "只看到分配给自己的个案，而且只看到服务需要的内容"
            "（《个人信息保护法》第6、51条）：下表以外的栏目（身份证号、父母情况、侵害经过、报告人、"
            "报警和司法程序等）都不显示，也不能生成个案文书。\n\n"
            + table(["表单", "可以看到的栏目"], rows))


#: The order record forms are listed in on the roles page.
RECORD_ORDER = ("screening", "plan", "service", "visit", "incident", "police_report", "escalation",
                "closure", "return_visit", "guardianship", "level_override")


def categories_table(hb: Handbook) -> str:
    """Table of every installed target-group category: label, rule, source, code, plugin."""
    rows = [[c.label, c.rule, c.source, code(c.code), hb.owner("jianhu_target_categories", c.code)]
            for c in hb.host.target_categories]
    return table(["类别", "认定规则", "依据", "代码", "提供插件"], rows)


def form_summary(hb: Handbook, form_id: str, page: str) -> str:
    """A short block for a chapter: the form's title, its required fields and a link to its page.

    Raises:
        JianhuError: no form ``form_id`` is installed.
    """
    from jianhu.forms import load_form

    form = load_form(hb.host, form_id)
    required = [f.column for f in form.fields if f.required]
    for key, g, items in _array_groups(form):
        required += [f"{g.get('title', key)}·{items['properties'][k].get('title', k)}"
                     for k in items.get("required", ()) if k in items.get("properties", {})]
    target = relpath(form_page(form_id), page)
    return (f"**表单：[{text(form.title)}]({target})**（代码 `{form_id}`，第{form.version}版，"
            f"共{len(form.fields)}列）。必填：{text(required)}。\n")


def reports_markdown(hb: Handbook) -> str:
    """The reports page: every installed report (whether it names children, and so who may make
    it) and report format, with the plugin giving it."""
    from jianhu.reports import IDENTIFIED_PERMISSION
    from jianhu.roles import ACTION_LABELS

    who = ACTION_LABELS[IDENTIFIED_PERMISSION]

    def kind(r: Any) -> str:
        if r.identified:
            return f"含儿童身份信息（须有「{who}」权限，每次生成记入审计）"
        return {"always": "只有人数，小数字一律隐去", "never": "工作人员及工作量，不含儿童个人信息"}.get(
            r.small_cells, "只有人数（无权查看个案的角色看到的小数字隐去）")

    reports = [[r.title, code(name), kind(r), hb.owner("jianhu_reports", name),
                code(f"jianhu report {name} --format xlsx --out 文件.xlsx")]
               for name, r in sorted(hb.host.reports.items())]
    formats = [[code(name), f.suffix, hb.owner("jianhu_report_formats", name)]
               for name, f in sorted(hb.host.report_formats.items())]
    return ("# 报表与格式\n\n汇总表只含汇总数字，不含儿童姓名和身份证号；花名册、季度更新表和强制报告登记簿"
            f"列出儿童，只有有「{who}」权限的角色能生成，每次生成记入审计（导出）；统计日期按北京时间。"
            f"命令见{hb.command_link('report', REPORTS_PAGE)}。\n\n## 报表\n\n"
            + table(["报表", "名称", "内容", "提供插件", "命令"], reports)
            + "\n## 文件格式\n\n" + table(["格式", "文件后缀", "提供插件"], formats))
