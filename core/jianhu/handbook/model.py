"""The handbook of one workspace: its generated pages, its navigation and the directives that put
generated facts into the hand-written chapters.

A hand-written chapter writes ``<!-- jianhu:NAME ARG... -->`` where a fact of the running system
belongs (a table of categories, a policy value, a command's usage); :meth:`Handbook.expand`
replaces it when the site or the PDF is built, so the chapter cannot drift from the code. An
unknown directive or argument stops the build (:class:`HandbookError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import click

from jianhu import __version__
from jianhu.errors import JianhuError
from jianhu.extensions import Area, FollowupPolicy
from jianhu.handbook import developer, reference, training
from jianhu.handbook.md import relpath, table, text
from jianhu.plugins import Host

DIRECTIVE = re.compile(r"<!--\s*jianhu:([\w-]+)((?:\s+[^\s>]+)*)\s*-->")

REFERENCE = "参考资料（自动生成）"
AIDS = "培训材料（自动生成）"
DEVELOPER = "开发者参考（自动生成）"


class HandbookError(JianhuError):
    """The handbook cannot be built (Chinese message): unknown township, a chapter naming a
    directive, command or form that does not exist, a broken MkDocs build."""


@dataclass(frozen=True)
class GeneratedPage:
    """One page the handbook generates from the running system.

    Attributes:
        path: docs-relative path, e.g. ``"reference/policy.md"``.
        title: the navigation title.
        markdown: the page's Markdown.
        section: the navigation sections it sits in, outermost first.
    """

    path: str
    title: str
    markdown: str
    section: tuple[str, ...]


class Handbook:
    """The handbook of the plugins loaded in ``host``, optionally for one township.

    Args:
        host: the loaded plugins (:meth:`jianhu.plugins.Host.load`).
        township: a township's 12-digit code (its name is accepted too); ``None`` for the whole
            workspace.
        teams: the workspace's teams (:class:`jianhu.teams.TeamView`) when the build reads its
            database (``jianhu handbook build`` in a workspace), else ``None``.
        commands: the ``jianhu`` root command the CLI reference documents (the CLI passes its own
            root group; the handbook never imports the CLI). Without it, the pages and directives
            that quote commands refuse to build.

    Raises:
        HandbookError: ``township`` is not a township of the workspace.
    """

    def __init__(self, host: Host, township: str | None = None, teams: list[Any] | None = None,
                 commands: click.Group | None = None):
        self.host = host
        self.teams = teams
        self._commands = commands
        self.township: Area | None = None
        if township:
            towns = [a for a in host.areas.values() if a.level != "county"]
            match = [a for a in towns if township in (a.code, a.name, a.short_code)]
            if not match:
                raise HandbookError(
                    f"没有乡镇「{township}」；可用：{'、'.join(f'{a.code}（{a.name}）' for a in towns)}")
            self.township = match[0]
        self._owners: dict[tuple[str, str, str], str] = {}

    # ------------------------------------------------------------------ facts
    @cached_property
    def commands(self) -> click.Group:
        """The ``jianhu`` command as this workspace runs it: the root group given to the handbook
        plus every command the plugins register (:func:`developer.command_tree`).

        Raises:
            HandbookError: the handbook was made without the root command.
        """
        if self._commands is None:
            raise HandbookError("生成命令行参考需要 jianhu 命令本身：请用 jianhu handbook build 生成手册")
        return developer.command_tree(self.host, self._commands)

    @cached_property
    def towns(self) -> list[Area]:
        """The townships the handbook covers, by code."""
        if self.township is not None:
            return [self.township]
        return sorted((a for a in self.host.areas.values() if a.level != "county"),
                      key=lambda a: a.code)

    @cached_property
    def policies(self) -> list[tuple[FollowupPolicy, list[Area]]]:
        """Each distinct follow-up policy in force with the townships it covers, the policy that
        covers most townships first."""
        groups: list[tuple[FollowupPolicy, list[Area]]] = []
        for town in self.towns:
            policy = self.host.followup_policy(town.code)
            for p, ts in groups:
                if p == policy:
                    ts.append(town)
                    break
            else:
                groups.append((policy, [town]))
        if not groups:  # a workspace without townships still has the default answer
            groups.append((self.host.followup_policy(""), []))
        groups.sort(key=lambda g: -len(g[1]))
        return groups

    @property
    def policy(self) -> FollowupPolicy:
        """The policy the chapters quote: the township's, else the one most townships use."""
        return self.policies[0][0]

    @property
    def policy_scope(self) -> str:
        """Which townships :attr:`policy` covers, in words."""
        policy, towns = self.policies[0]
        if self.township is not None:
            return f"{self.township.name}的政策"
        if len(self.policies) == 1:
            return "全部乡镇适用"
        return f"{len(towns)}个乡镇适用，其他乡镇另有政策"

    @property
    def title(self) -> str:
        """The handbook's title suffix: the township's name, or ``""``."""
        return self.township.name if self.township is not None else ""

    def owner(self, hook: str, name: str, **kwargs: Any) -> str:
        """The plugin that registered record ``name`` through ``hook`` (cached)."""
        key = (hook, name, repr(sorted(kwargs.items())))
        if key not in self._owners:
            try:
                self._owners[key] = self.host.owner(hook, name, **kwargs)
            except KeyError:
                self._owners[key] = "—"
        return self._owners[key]

    def form_title(self, form_id: str) -> str:
        """The Chinese title of form ``form_id`` (its id when it is not installed)."""
        spec = self.host.forms.get(form_id)
        return spec.title if spec is not None else form_id

    def command_link(self, words: str, page: str) -> str:
        """Markdown for ``jianhu WORDS`` linked to its entry in the CLI reference."""
        path = ("jianhu", *words.split())
        target = relpath(f"{developer.CLI_PAGE}#{developer.command_anchor(path)}", page)
        return f"[`{' '.join(path)}`]({target})"

    # ------------------------------------------------------------------ pages
    @cached_property
    def pages(self) -> list[GeneratedPage]:
        """Every generated page, in navigation order."""
        from jianhu.forms import load_form
        from jianhu.roles import role_labels

        hb = self
        pages: list[GeneratedPage] = []

        def add(path: str, title: str, markdown: str, *section: str) -> None:
            pages.append(GeneratedPage(path, title, markdown, tuple(section)))

        add("reference/index.md", "说明", self._reference_index(), REFERENCE)
        add(f"{reference.FORMS_DIR}/index.md", "表单一览", reference.forms_index(hb), REFERENCE, "表单")
        for form_id in sorted(self.host.forms):
            form = load_form(self.host, form_id)
            add(reference.form_page(form_id), form.title, reference.form_markdown(hb, form),
                REFERENCE, "表单")
        add(f"{reference.SCALES_DIR}/index.md", "量表一览", reference.scales_index(hb),
            REFERENCE, "量表")
        for name, scale in sorted(self.host.scales.items()):
            add(reference.scale_page(name), scale.title, reference.scale_markdown(hb, scale),
                REFERENCE, "量表")
        add(reference.POLICY_PAGE, "分级与随访政策", reference.policy_markdown(hb), REFERENCE)
        add(reference.LIFECYCLE_PAGE, "个案状态与转换", reference.lifecycle_markdown(hb), REFERENCE)
        add(reference.DEADLINES_PAGE, "期限与待办", reference.deadlines_markdown(hb), REFERENCE)
        add(reference.ROLES_PAGE, "角色与权限", reference.roles_markdown(hb), REFERENCE)
        add(reference.REPORTS_PAGE, "报表与格式", reference.reports_markdown(hb), REFERENCE)

        add(f"{training.CHECKLISTS_DIR}/index.md", "岗位清单一览", training.checklists_index(hb),
            AIDS, "岗位清单")
        for role, label in role_labels().items():
            add(training.checklist_page(role), label, training.checklist_markdown(hb, role, label),
                AIDS, "岗位清单")
        for path, title, markdown in training.examples_pages(hb):
            add(path, title, markdown, AIDS, "示例")

        add(developer.CLI_PAGE, "命令行参考", developer.cli_markdown(hb), DEVELOPER)
        add(developer.HOOKS_PAGE, "插件钩子参考", developer.hooks_markdown(hb), DEVELOPER)
        add(developer.RECORDS_PAGE, "扩展记录", developer.records_markdown(hb), DEVELOPER)
        for path, title, markdown, section in developer.plugin_pages(hb):
            add(path, title, markdown, *section)
        return pages

    def _reference_index(self) -> str:
        return ("# 关于参考资料\n\n这一部分和「培训材料」「开发者参考」「插件」各页都不是手写的："
                "每次生成手册时，系统从正在运行的代码和已加载的插件中读出表单、量表、随访政策、"
                "状态转换、期限、权限、命令和钩子，写成这些页面。所以手册说的就是系统做的；乡镇插件"
                "改了阈值或字段，重新生成手册即可。\n\n" + self.build_info() + "\n")

    def build_info(self) -> str:
        """A table of what this build covers: version, township, policy, plugins, forms, scales."""
        return table(["项目", "内容"], [
            ["系统版本", f"jianhu {__version__}"],
            ["适用范围", self.township.name if self.township else
             f"全部乡镇（{len(self.towns)}个）"],
            ["手册引用的随访政策", f"{self.policy.name}（{self.policy_scope}）"],
            ["已加载插件", len(self.host.plugins())],
            ["表单", len(self.host.forms)],
            ["量表", len(self.host.scales)]])

    def build_summary(self) -> str:
        """One line for a cover page: the townships covered and the policy quoted."""
        scope = self.township.name if self.township else f"全部乡镇（{len(self.towns)}个）"
        return f"适用：{scope}；随访政策：{self.policy.name}"

    def nav(self) -> list[Any]:
        """The generated pages as MkDocs ``nav`` entries (nested sections, in page order)."""
        root: list[Any] = []

        def section_list(items: list[Any], title: str) -> list[Any]:
            for entry in items:
                if isinstance(entry, dict) and title in entry and isinstance(entry[title], list):
                    return entry[title]
            new: list[Any] = []
            items.append({title: new})
            return new

        for page in self.pages:
            items = root
            for title in page.section:
                items = section_list(items, title)
            items.append({page.title: page.path})
        return root

    # -------------------------------------------------------------- directives
    def expand(self, markdown: str, page: str) -> str:
        """Replace every ``<!-- jianhu:NAME ARGS -->`` in ``markdown`` (the page at docs path
        ``page``) with generated Markdown.

        Raises:
            HandbookError: an unknown directive, or an argument naming something that does not
                exist (a command, a form, a policy value).
        """
        def replace(m: re.Match[str]) -> str:
            name, args = m.group(1), m.group(2).split()
            fn = self.directives.get(name)
            if fn is None:
                raise HandbookError(f"{page}：未知的手册指令「{name}」；可用：{'、'.join(self.directives)}")
            try:
                return fn(args, page)
            except HandbookError:
                raise
            except (KeyError, ValueError, IndexError, StopIteration, JianhuError) as exc:
                why = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise HandbookError(f"{page}：手册指令「{m.group(0)}」无法展开：{why}") from None

        return DIRECTIVE.sub(replace, markdown)

    @cached_property
    def directives(self) -> dict[str, Callable[[list[str], str], str]]:
        """Directive name → ``fn(args, page)`` returning Markdown."""
        return {
            "build-info": lambda args, page: self.build_info(),
            "categories": lambda args, page: reference.categories_table(self),
            "roles": lambda args, page: reference.roles_table(),
            "policy": lambda args, page: self._policy_snippet(page),
            "deadlines": lambda args, page: self._deadlines_snippet(page),
            "lifecycle": lambda args, page: reference.mermaid_lifecycle(),
            "closure-conditions": lambda args, page: reference.closure_conditions_table(),
            "guardianship-changes": lambda args, page: reference.guardianship_changes_table(),
            "command": lambda args, page: developer.command_snippet(self, args, page),
            "form": lambda args, page: reference.form_summary(self, args[0], page),
            "value": lambda args, page: self._value(args[0]),
            "link": lambda args, page: self._link(args, page),
            "team-kinds": lambda args, page: self._team_kinds(),
            "teams": lambda args, page: self._teams(),
        }

    def _team_kinds(self) -> str:
        """The kinds of team of the plan (:data:`jianhu.teams.TEAM_KINDS`) and their rules."""
        from jianhu.teams import NAME_SUFFIX, ONE_PER_PLACE, TEAM_KINDS, VILLAGE_KINDS

        return table(["类别", "代码", "属于", "数量", "默认名称（例）"], [
            [label, code, "村（社区）" if code in VILLAGE_KINDS else "乡镇",
             ("每村一个" if code in VILLAGE_KINDS else "每乡镇一个") if code in ONE_PER_PLACE
             else "可以多个", ("某村" if code in VILLAGE_KINDS else "某镇")
             + NAME_SUFFIX.get(code, label)] for code, label in TEAM_KINDS.items()])

    def _teams(self) -> str:
        """Each township's teams and members as the workspace's database holds them."""
        if self.teams is None:
            return ("（生成本手册时没有读取工作区数据库，这里不列各乡镇的队伍名单。在工作区中运行 "
                    "`jianhu handbook build` 即列出；也可随时用 `jianhu teams list` 查看。）\n")
        codes = {t.code for t in self.towns}
        out = []
        for town in self.towns:
            teams = [t for t in self.teams if t.township_code == town.code and t.township_code in codes]
            out.append(f"### {text(town.name)}\n")
            if not teams:
                out.append("尚未登记队伍。\n")
                continue
            out.append(table(["类别", "队伍", "村（社区）", "成员"], [
                [t.kind_label, t.name, t.village or "—",
                 "、".join(f"{m['name']}（{m['role_label']}）" for m in t.members) or "—"]
                for t in teams]))
        return "\n".join(out)

    def _policy_snippet(self, page: str) -> str:
        headers, rows = reference.level_rows(self.policy)
        return (table(headers, rows) + f"\n（政策「{text(self.policy.name)}」，{self.policy_scope}；"
                f"详见[分级与随访政策]({relpath(reference.POLICY_PAGE, page)})。）\n")

    def _deadlines_snippet(self, page: str) -> str:
        from jianhu.followups import KIND_LABELS

        rules = reference.deadline_rules(self.policy)
        rows = [[label, rules[k][1] if k in rules else "—"] for k, label in KIND_LABELS.items()]
        return (table(["待办", "期限"], rows)
                + f"\n（详见[期限与待办]({relpath(reference.DEADLINES_PAGE, page)})。）\n")

    def _value(self, key: str) -> str:
        """One figure for running text: a policy field (``mandatory_report_hours``), a level field
        (``visit_days.red``), a legal constant of :mod:`jianhu.tasks` (``order_ruling_hours``,
        ``order_ruling_hours_urgent``, ``order_max_months``, ``order_review_days``), the retention
        policy's ``retention_years`` and ``retention_adult_age``, the sign-in limits
        (``signin_max_failures`` and the other fields of the lock-out policy), the policy's
        ``policy_name``, or a default-scale threshold (``threshold.red``)."""
        from jianhu import tasks
        from jianhu.retention import Policy
        from jianhu.web.auth import LockoutPolicy

        p = self.policy
        if "." in key:
            field_name, level = key.split(".", 1)
            if field_name == "threshold":
                scale = self.host.scales["jianhu-default"]
                row = next(t for t in scale.thresholds if t.get("level") == level and "min_total" in t)
                return str(row["min_total"])
            return str(getattr(p.for_level(level), field_name))
        fixed = {
            "policy_name": p.name,
            "order_ruling_hours": tasks.ORDER_RULING_HOURS[False],
            "order_ruling_hours_urgent": tasks.ORDER_RULING_HOURS[True],
            "order_max_months": tasks.ORDER_MAX_MONTHS,
            "order_review_days": tasks.ORDER_REVIEW_DAYS,
            "retention_years": Policy().years_after_closure,
            "retention_adult_age": Policy().adult_age,
            **{f"signin_{k}": v for k, v in vars(LockoutPolicy()).items()},
        }
        if key in fixed:
            return text(fixed[key])
        if not hasattr(p, key) or key in ("levels", "source"):
            raise KeyError(f"没有数值「{key}」")
        return text(getattr(p, key))

    def _link(self, args: list[str], page: str) -> str:
        """``<!-- jianhu:link form plan -->`` / ``scale NAME`` / ``checklist ROLE`` / ``page PATH``:
        a link to a generated page, with its title."""
        kind, name = args[0], args[1]
        targets = {"form": reference.form_page, "scale": reference.scale_page,
                   "checklist": training.checklist_page, "page": lambda n: n}
        path = targets[kind](name)
        match = next((p for p in self.pages if p.path == path), None)
        if match is None:
            raise KeyError(f"没有生成的页面 {path}")
        return f"[{text(match.title)}]({relpath(path, page)})"
