"""Generated developer pages: the CLI reference, the hook reference, the extension records and the
installed plugins (with the pages plugins add through ``jianhu_handbook_pages``).

The CLI reference walks the click command tree of :data:`jianhu.cli.cli` plus the commands plugins
register; the hook reference reads :mod:`jianhu.hookspecs` with :func:`inspect.signature`.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from jianhu.handbook.md import anchor, code, fenced, link, relpath, table, text

if TYPE_CHECKING:
    from jianhu.handbook.model import Handbook

CLI_PAGE = "developer/cli.md"
HOOKS_PAGE = "developer/hooks.md"
RECORDS_PAGE = "developer/records.md"
PLUGINS_DIR = "plugins"

#: Registration hooks whose records a plugin page lists: hook → (Chinese name, attribute shown).
REGISTRATIONS = {
    "jianhu_forms": ("表单", "title"),
    "jianhu_scales": ("量表", "title"),
    "jianhu_target_categories": ("目标人群类别", "label"),
    "jianhu_areas": ("行政区划", "name"),
    "jianhu_reports": ("报表", "title"),
    "jianhu_report_formats": ("报表格式", "suffix"),
}


# ------------------------------------------------------------------------------------- CLI
def command_tree(host: Any, cli: click.Group) -> click.Group:
    """The ``jianhu`` root group ``cli`` as the workspace runs it: its commands plus every command
    plugins register (on a copy, so the process's own group is not changed)."""
    root = click.Group(name="jianhu", commands=cli.core_commands(), params=list(cli.params),
                       help=cli.help)
    host.register_commands(root)
    return root


def walk(group: click.Group, ctx: click.Context | None = None) -> Iterator[tuple[tuple[str, ...],
                                                                            click.Command,
                                                                            click.Context]]:
    """Yield ``(path, command, context)`` for ``group`` and every command below it, depth first,
    sub-commands in name order; ``path`` starts with ``"jianhu"``. Hidden commands are skipped."""
    ctx = ctx or click.Context(group, info_name=group.name)
    yield tuple(ctx.command_path.split()), group, ctx
    if isinstance(group, click.Group):
        for name in sorted(group.commands):
            sub = group.commands[name]
            if sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            if isinstance(sub, click.Group):
                yield from walk(sub, sub_ctx)
            else:
                yield tuple(sub_ctx.command_path.split()), sub, sub_ctx


def command_heading(path: tuple[str, ...]) -> str:
    """The heading text of a command in the CLI reference, e.g. ``"jianhu import screening"``."""
    return " ".join(path)


def command_anchor(path: tuple[str, ...]) -> str:
    """The anchor of a command's heading on the CLI reference page."""
    return anchor(command_heading(path))


def _metavar(param: click.Parameter, ctx: click.Context) -> str:
    try:
        return param.make_metavar(ctx)  # click ≥ 8.2
    except TypeError:  # pragma: no cover - older click
        return param.make_metavar()  # type: ignore[call-arg]


def _help(cmd: click.Command) -> str:
    return inspect.cleandoc(cmd.help or "").replace("\b\n", "")


def _param_rows(cmd: click.Command, ctx: click.Context) -> list[list[Any]]:
    rows = []
    for p in cmd.get_params(ctx):
        if getattr(p, "hidden", False) or "--help" in getattr(p, "opts", ()):
            continue
        if isinstance(p, click.Argument):
            name, kind = _metavar(p, ctx), "参数"
        else:
            opts = ", ".join(list(p.opts) + list(p.secondary_opts))
            flag = getattr(p, "is_flag", False) and not getattr(p, "count", False)
            name, kind = (opts if flag else f"{opts} {_metavar(p, ctx)}"), "选项"
        help_ = getattr(p, "help", None) or ""
        if isinstance(p.type, click.Choice):
            help_ += ("；" if help_ else "") + "可选：" + "、".join(str(c) for c in p.type.choices)
        if getattr(p, "envvar", None):
            help_ += ("；" if help_ else "") + f"环境变量 {p.envvar}"
        default = p.default
        if (callable(default) or default in (None, False, (), []) or getattr(p, "is_flag", False)
                or type(default).__name__ == "Sentinel"):  # click ≥ 8.3 marks "no default" so
            default = ""
        rows.append([code(name), kind, "是" if p.required else "", default, help_])
    return rows


def cli_markdown(hb: Handbook) -> str:
    """The CLI reference page: every command with usage, help text and parameters."""
    root = hb.commands
    out = ["# 命令行参考\n\n本页由运行中的 `jianhu` 命令逐条生成（含插件增加的命令）。任何命令加 `--help` "
           "都能在终端看到同样的说明。出错时命令打印「错误：……」并以非零状态退出。\n"]
    for path, cmd, ctx in walk(root):
        depth = len(path)
        level = "#" * min(depth + 1, 4)
        usage = " ".join([" ".join(path)] + cmd.collect_usage_pieces(ctx))
        out.append(f"\n{level} {command_heading(path)}\n\n{fenced(usage, 'text')}\n")
        if _help(cmd):
            out.append(f"{text(_help(cmd))}\n\n".replace("\n\n\n", "\n\n"))
        rows = _param_rows(cmd, ctx)
        if rows:
            out.append(table(["参数或选项", "类别", "必填", "默认值", "说明"], rows))
        if isinstance(cmd, click.Group) and cmd.commands:
            subs = [[link(command_heading(path + (n,)), f"#{command_anchor(path + (n,))}"),
                     cmd.commands[n].get_short_help_str(limit=80)]
                    for n in sorted(cmd.commands) if not cmd.commands[n].hidden]
            out.append("\n" + table(["子命令", "用途"], subs))
    return "".join(out)


def command_snippet(hb: Handbook, words: list[str], page: str) -> str:
    """A block for a chapter: a command's usage line, its help's first line and a link to the CLI
    reference, e.g. for ``["import", "screening"]``.

    Raises:
        KeyError: there is no such command (the chapter names a command that does not exist).
    """
    root = hb.commands
    wanted = ("jianhu", *words)
    for path, cmd, ctx in walk(root):
        if path == wanted:
            usage = " ".join([" ".join(path)] + cmd.collect_usage_pieces(ctx))
            first = _help(cmd).split("\n")[0]
            target = relpath(f"{CLI_PAGE}#{command_anchor(path)}", page)
            return f"{fenced(usage, 'text')}\n{text(first)}（[命令说明]({target})）\n"
    raise KeyError(f"没有命令 {' '.join(wanted)}")


# ----------------------------------------------------------------------------------- hooks
def hookspec_functions() -> list[tuple[str, Any, dict[str, Any]]]:
    """Every hookspec of :mod:`jianhu.hookspecs`: ``(name, function, spec options)``, in source
    order."""
    from jianhu import hookspecs

    found = []
    for name, fn in vars(hookspecs).items():
        opts = getattr(fn, "jianhu_spec", None)
        if name.startswith("jianhu_") and isinstance(fn, types.FunctionType) and opts is not None:
            found.append((name, fn, dict(opts)))
    return found


def _unquote(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def hook_signature(fn: Any) -> str:
    """The hook's exact signature as written in :mod:`jianhu.hookspecs`, from
    :func:`inspect.signature` (string annotations shown without quotes), e.g.
    ``"jianhu_form_fields(form_id: str) -> list[FormExtension]"``."""
    sig = inspect.signature(fn)
    params = []
    for p in sig.parameters.values():
        s = p.name
        if p.annotation is not inspect.Parameter.empty:
            s += f": {_unquote(p.annotation)}"
        if p.default is not inspect.Parameter.empty:
            s += f" = {p.default!r}"
        params.append(s)
    ret = "" if sig.return_annotation is inspect.Signature.empty else \
        f" -> {_unquote(sig.return_annotation)}"
    return f"{fn.__name__}({', '.join(params)}){ret}"


_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Attributes|Example|Examples)::?\s*$")


def docstring_markdown(doc: str) -> str:
    """Render a Google-style docstring: the summary as text, ``Args:``/``Returns:``/``Raises:``
    as labelled blocks and ``Example::`` as a Python code block."""
    doc = inspect.cleandoc(doc or "")
    out: list[str] = []
    section, buf = "", []

    def flush() -> None:
        body = "\n".join(buf).strip("\n")
        if not body and not section:
            return
        if section in ("Example", "Examples"):
            out.append("**示例**\n\n" + fenced(inspect.cleandoc(body), "python"))
        elif section:
            title = {"Args": "参数", "Arguments": "参数", "Returns": "返回", "Raises": "异常",
                     "Yields": "产出", "Attributes": "属性"}[section]
            out.append(f"**{title}**\n\n" + fenced(inspect.cleandoc(body), "text"))
        else:
            out.append(text(body).replace("``", "`") + "\n")

    for line in doc.splitlines():
        m = _SECTION.match(line.strip()) if not line.startswith(" ") else None
        if m:
            flush()
            section, buf = m.group(1), []
        else:
            buf.append(line)
    flush()
    return "\n".join(out)


def hooks_markdown(hb: Handbook) -> str:
    """The hook reference page: every hookspec with its exact signature, options, docstring and the
    loaded plugins that implement it."""
    out = ["# 插件钩子参考\n\n乡镇之间可以不同的一切都是插件钩子（pluggy，项目名 `jianhu`）。插件是一个"
           "实现了下列函数的模块或对象，每个函数用 `@jianhu.hookimpl` 标记。插件的加载顺序：已安装的"
           "发行包（entry point 组 `jianhu`），再是 `--plugins-dir` 目录中的单个 `.py` 文件，最后是"
           "系统默认插件。实现函数不能给参数设默认值（pluggy 会悄悄丢掉这样的参数）；系统调用钩子时"
           "总用关键字参数。登记类钩子返回 "
           f"[扩展记录]({relpath(RECORDS_PAGE, HOOKS_PAGE)})的列表，两个插件登记同名记录会报错。\n\n",
           fenced('from jianhu import hookimpl\n\n@hookimpl\ndef jianhu_areas():\n'
                  '    return [Area(code="320724100000", name="新安镇", level="town")]', "python")]
    for name, fn, opts in hookspec_functions():
        flags = [k for k in ("firstresult", "historic") if opts.get(k)]
        impls = [i.plugin_name for i in getattr(hb.host.pm.hook, name).get_hookimpls()]
        out.append(f"\n## {name}\n\n" + fenced("def " + hook_signature(fn), "python") + "\n")
        out.append(table(["项目", "内容"], [
            ["调用方式", "只取第一个非空结果（firstresult）" if "firstresult" in flags
             else "调用所有实现"],
            ["historic", "是" if "historic" in flags else "否"],
            ["已实现的插件", "、".join(reversed(impls)) or "无"]]) + "\n")
        out.append(docstring_markdown(fn.__doc__ or ""))
    return "".join(out)


# --------------------------------------------------------------------------------- records
def _attributes(doc: str) -> dict[str, str]:
    """Parse the ``Attributes:`` section of a class docstring into ``{name: description}``."""
    doc = inspect.cleandoc(doc or "")
    out: dict[str, str] = {}
    inside, current = False, None
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break
        m = re.match(r"^    ([\w /]+):\s*(.*)$", line)
        if m:
            for part in m.group(1).split("/"):
                current = part.strip()
                out[current] = m.group(2)
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


def records_markdown(hb: Handbook) -> str:
    """The extension records page: every dataclass of :mod:`jianhu.extensions` with its fields."""
    from jianhu import extensions

    out = ["# 扩展记录\n\n插件从登记类钩子返回这些小记录（不可变的 dataclass，定义在 "
           "`jianhu.extensions`）。\n"]
    for name, cls in vars(extensions).items():
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
                and cls.__module__ == extensions.__name__):
            continue
        doc = inspect.cleandoc(cls.__doc__ or "")
        attrs = _attributes(doc)
        summary = doc.split("\n\n")[0]
        rows = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = repr(f.default)
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = repr(f.default_factory())  # type: ignore[misc]
            else:
                default = "（必填）"
            rows.append([code(f.name), code(_unquote(f.type)), code(default) if default != "（必填）"
                         else default, attrs.get(f.name, "")])
        out.append(f"\n## {name}\n\n{text(summary)}\n\n")
        out.append(table(["字段", "类型", "默认值", "说明"], rows))
    return "".join(out)


# --------------------------------------------------------------------------------- plugins
#: Chinese names of :attr:`jianhu.plugins.PluginInfo.source`.
SOURCES = {"entry point": "已安装的发行包", "plugins dir": "插件目录", "default": "系统默认",
           "test": "测试"}


def plugin_slug(name: str) -> str:
    """A plugin name as a path segment (letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^\w.-]+", "-", name).strip("-") or "plugin"


def plugin_dir(name: str) -> str:
    """Docs folder of a plugin's pages."""
    return f"{PLUGINS_DIR}/{plugin_slug(name)}"


def _plugin_doc(hb: Handbook, name: str) -> str:
    obj = hb.host.pm.get_plugin(name)
    doc = inspect.getdoc(obj) if obj is not None else ""
    if isinstance(obj, types.ModuleType):
        doc = obj.__doc__ or ""
    return inspect.cleandoc(doc or "")


def plugin_registrations(hb: Handbook) -> dict[str, list[tuple[str, str, str]]]:
    """Plugin name → ``(kind, record name, shown title)`` of what it registers, through the
    host's facade (each record's owner from :meth:`jianhu.plugins.Host.owner`)."""
    host = hb.host
    out: dict[str, list[tuple[str, str, str]]] = {}
    records: list[tuple[str, Any, str]] = []
    records += [("jianhu_forms", r, r.id) for r in host.forms.values()]
    records += [("jianhu_scales", r, r.name) for r in host.scales.values()]
    records += [("jianhu_target_categories", r, r.code) for r in host.target_categories]
    records += [("jianhu_areas", r, r.code) for r in host.areas.values()]
    records += [("jianhu_reports", r, r.name) for r in host.reports.values()]
    records += [("jianhu_report_formats", r, r.name) for r in host.report_formats.values()]
    for hook, record, key in records:
        kind, attr = REGISTRATIONS[hook]
        owner = hb.owner(hook, key)
        out.setdefault(owner, []).append((kind, key, str(getattr(record, attr, key))))
    for form_id in sorted(host.forms):
        for ext in host.form_extensions(form_id):
            owner = hb.owner("jianhu_form_fields", ext.name or ext.group, form_id=form_id)
            out.setdefault(owner, []).append(
                ("表单扩展字段", f"{form_id}.{ext.group}",
                 f"{hb.form_title(form_id)}：{ext.group_title}（{len(ext.properties)}个字段）"))
    return out


def plugin_pages(hb: Handbook) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """``(path, title, markdown, nav section)`` of the plugins index, one page per plugin and the
    pages plugins add with ``jianhu_handbook_pages``."""
    infos = hb.host.plugins()
    extra = hb.host.handbook_pages()
    regs = plugin_registrations(hb)
    settings = getattr(hb.host, "settings_schemas", {}) or {}
    section = ("插件（自动生成）",)
    index_path = f"{PLUGINS_DIR}/index.md"
    rows = []
    for p in infos:
        rows.append([link(p.name, relpath(f"{plugin_dir(p.name)}/index.md", index_path)),
                     p.version, SOURCES.get(p.source, p.source),
                     "、".join(p.hooks), len(extra.get(p.name, ()))])
    pages = [(index_path, "已加载的插件",
              "# 已加载的插件\n\n本手册生成时系统加载的全部插件（按加载顺序）。系统自己的默认设置也是插件。"
              "每个插件有一页，列出它登记的内容；插件还可以用 `jianhu_handbook_pages` 钩子加入自己的页面"
              f"（见[插件钩子参考]({relpath(HOOKS_PAGE, index_path)}#jianhu_handbook_pages)）。\n\n"
              + table(["插件", "版本", "来源", "实现的钩子", "手册页面"], rows), section)]
    for p in infos:
        base = plugin_dir(p.name)
        path = f"{base}/index.md"
        out = [f"# 插件 {text(p.name)}\n\n",
               table(["项目", "内容"], [["名称", code(p.name)], ["版本", p.version or "—"],
                                     ["来源", SOURCES.get(p.source, p.source)],
                                     ["实现的钩子", "、".join(p.hooks) or "无"]])]
        doc = _plugin_doc(hb, p.name)
        if doc:
            out.append("\n## 插件说明\n\n" + fenced(doc, "text"))
        reg = regs.get(p.name, [])
        if reg:
            out.append("\n## 登记的内容\n\n")
            reg_rows = []
            for kind, key, title in reg:
                if kind == "表单":
                    title_cell: Any = link(title, relpath(f"reference/forms/{key}.md", path))
                elif kind == "量表":
                    title_cell = link(title, relpath(f"reference/scales/{key}.md", path))
                else:
                    title_cell = title
                reg_rows.append([kind, code(key), title_cell])
            out.append(table(["类别", "代码", "名称"], reg_rows))
        if "jianhu_followup_policy" in p.hooks:
            out.append(f"\n本插件提供随访政策，数值见[分级与随访政策]"
                       f"({relpath('reference/policy.md', path)})。\n")
        if "jianhu_register_commands" in p.hooks:
            out.append(f"\n本插件增加命令，见[命令行参考]({relpath(CLI_PAGE, path)})。\n")
        schema = settings.get(p.name)
        if schema:
            out.append("\n## 设置项\n\n用 `jianhu plugins enable` 为乡镇启用插件时按下表填写设置"
                       "（JSON 文件）。\n\n")
            props = schema.get("properties", {})
            req = set(schema.get("required", ()))
            out.append(table(["名称", "字段", "必填", "说明"], [
                [s.get("title", k), code(k), "是" if k in req else "", s.get("description", "")]
                for k, s in props.items()]))
        own = extra.get(p.name, ())
        if own:
            out.append("\n## 插件提供的页面\n\n" + "\n".join(
                f"- [{text(pg.title)}]({relpath(f'{base}/{pg.path}', path)})" for pg in own) + "\n")
        pages.append((path, p.name, "".join(out), section + (p.name,)))
        for pg in own:
            body = pg.markdown
            if not re.search(r"^# ", body, re.M):
                body = f"# {text(pg.title)}\n\n{body}"
            pages.append((f"{base}/{pg.path}", pg.title, body, section + (p.name,)))
    return pages
