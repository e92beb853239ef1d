"""The root command group, the shared context and error printing."""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jianhu import __version__
from jianhu.errors import ImportRejected, JianhuError

if TYPE_CHECKING:  # the database layer loads when a command opens the database
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

MAX_ROW_ERRORS = 200


class Workspace:
    """What every command needs, made on first use: the plugin host, the engine, the actor."""

    def __init__(self, db_url: str | None = None, plugins_dir: str | None = None,
                 acting_as: str | None = None):
        self.db_url = db_url
        self.plugins_dir = plugins_dir
        self.acting_as = acting_as
        self._host: Any = None
        self._engine: Engine | None = None
        self._location: Any = None

    @property
    def host(self) -> Any:
        """The loaded :class:`jianhu.plugins.Host` (plugins load once per process)."""
        if self._host is None:
            from jianhu.plugins import Host

            self._host = Host.load(plugins_dir=self.plugins_dir)
        return self._host

    @property
    def location(self) -> Any:
        """Where the database is (:func:`jianhu.db.session.locate`); when it was found in a
        directory above the current one, stderr says which file is used."""
        if self._location is None or self._location[0] != self.db_url:  # --db is set late
            from jianhu.db.session import locate

            self._location = (self.db_url, locate(self.db_url))
            if self._location[1].how == "above":
                click.echo(f"使用上级目录的数据库：{self._location[1].url.removeprefix('sqlite:///')}",
                           err=True)
        return self._location[1]

    @property
    def url(self) -> str:
        """The database URL in force (``--db``, ``JIANHU_DATABASE_URL``, ``JIANHU_HOME`` or the
        workspace's ``jianhu.db``)."""
        return self.location.url

    @property
    def engine(self) -> Engine:
        """The engine for :attr:`url`."""
        if self._engine is None:
            from jianhu.db.session import make_engine

            self._engine = make_engine(self.url)
        return self._engine

    def session(self) -> Session:
        """A session on a database whose schema is current (else a Chinese error).

        A SQLite file that does not exist is not created here (only ``jianhu db upgrade`` and
        ``jianhu demo`` create a database), so a missed workspace or a mistyped path is reported
        instead of leaving an empty database.
        """
        from jianhu.db.session import open_session

        engine = self.engine
        if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "",
                                                                                       ":memory:"):
            if not Path(engine.url.database).exists():
                if self.location.how == "missing":
                    raise JianhuError(
                        f"当前目录及其上级目录都没有数据库 {engine.url.database}。请进入工作区目录"
                        "（例如 jianhu demo 生成的 jianhu-demo）再运行，或用 --db、环境变量 "
                        "JIANHU_HOME 指明工作区；只有新建空的工作区时才运行 jianhu db upgrade")
                raise JianhuError(f"数据库文件不存在：{engine.url.database}（请检查路径；只有新建空的"
                                  "工作区时才运行 jianhu db upgrade）")
        return open_session(engine, writing=True)

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends, or rolled back whole if it
        raises (:func:`jianhu.db.session.unit_of_work`)."""
        from jianhu.db.session import unit_of_work

        with self.session() as session, unit_of_work(session):
            yield session

    @property
    def actor(self) -> str:
        """Roster code of who is acting: ``--as``, else ``JIANHU_USER``, else the local admin."""
        from jianhu.audit import current_actor

        return self.acting_as or current_actor()

    def acting(self, session: Session) -> Any:
        """The :class:`jianhu.roles.Actor` acting, checked against the roster.

        Raises:
            JianhuError: the code is not an active person on the roster.
        """
        from jianhu.people import resolve_actor

        return resolve_actor(session, self.actor)

    def scoped(self, session: Session, action: str | None = None) -> tuple[Any, Any]:
        """Resolve the actor, check ``action`` (if given), and put ``session`` in the actor's
        scope (:func:`jianhu.scope.scope_for`). Returns ``(actor, scope)``.

        Raises:
            JianhuError: unknown actor, action not allowed, or no township on the roster.
        """
        from jianhu.scope import scope_for
        from jianhu.settings import apply_plugin_settings

        actor = self.acting(session)
        if action:
            actor.require(action)
        apply_plugin_settings(session, self.host, actor.township_code)
        return actor, scope_for(session, actor)


pass_workspace = click.make_pass_decorator(Workspace)


#: click's help words and what a user reads instead.
_HELP_WORDS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}
_USAGE_WORDS = (("[OPTIONS]", "[选项]"), ("COMMAND [ARGS]...", "命令 [参数]..."),
                ("[ARGS]...", "[参数]..."))


class ChineseHelpFormatter(click.HelpFormatter):
    """``--help`` in Chinese: 用法, 选项, 命令 instead of click's English headings."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, chinese in _USAGE_WORDS:
            args = args.replace(english, chinese)
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_HELP_WORDS.get(heading, heading)}：\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, text.replace("[default: ", "[默认：").replace("[required]", "[必填]")
                 .replace("[env var: ", "[环境变量：")) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


class ChineseContext(click.Context):
    formatter_class = ChineseHelpFormatter


class _Chinese:
    """Commands whose help screen and help option read in Chinese."""

    context_class = ChineseContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "显示本帮助并退出"
        return option


class JianhuCommand(_Chinese, click.Command):
    """A command of ``jianhu`` (help in Chinese)."""


class JianhuSubGroup(_Chinese, click.Group):
    """A command group under ``jianhu`` (help in Chinese)."""

    command_class = JianhuCommand
    group_class = type  # its own groups are of this class too


#: The root's own commands: name → (``"module:attribute"`` of the command, the first paragraph of
#: its help). The one place a command's summary is written: ``jianhu --help`` lists the commands
#: from here without importing their modules; :func:`command` and :func:`group` give the command
#: this paragraph as the start of its help (the function's docstring, if any, is the rest).
COMMANDS: dict[str, tuple[str, str]] = {
    "approvals": ("jianhu.cli.lifecycle:approvals",
                  "审批：救助方案、结案、干预升级、等级调整、监护变更"
                  "（由乡镇审批人决定，不能由提交人自己审批）。"),
    "assess": ("jianhu.cli.casework:assess", "对个案 CASE_NO 做一次评估：计分、定级、重新排期随访。"),
    "audit": ("jianhu.cli.audit:audit", "审计日志：谁在何时查看或修改了哪名儿童的记录。"),
    "backup": ("jianhu.cli.deploy:backup",
               "加密备份数据库到 OUT（SQLite 在线备份；PostgreSQL 用 pg_dump），文件权限 0600，记入审计。"),
    "case": ("jianhu.cli.lifecycle:case", "个案：查看时间线、生成文书。"),
    "cases": ("jianhu.cli.casework:cases", "个案列表：按乡镇、等级列出个案。"),
    "db": ("jianhu.cli.workspace:db", "数据库：建立或升级数据库结构。"),
    "demo": ("jianhu.cli.workspace:demo", "演示：在新工作区生成样例、导入、分类、评级、排期，并输出汇总。"),
    "deploy": ("jianhu.cli.deploy:deploy", "县级部署：校验并应用部署清单，生成服务器配置。"),
    "duplicates": ("jianhu.cli.registry:duplicates",
                   "疑似重复登记：同一名儿童被登记两次，或他乡镇试图修改本乡镇儿童。"),
    "followups": ("jianhu.cli.casework:followups", "随访：到期与逾期的随访、再评估和强制报告。"),
    "forms": ("jianhu.cli.workspace:forms", "表单：导出给 ODK Collect、KoboCollect 使用的 XLSForm。"),
    "handbook": ("jianhu.cli.handbook:handbook",
                 "操作手册：由运行中的系统生成网页版和 PDF 版，或在本机预览。"),
    "import": ("jianhu.cli.data:import_", "导入：调查表、评估表（XLSX 或 CSV；一行有错则整体不导入）。"),
    "people": ("jianhu.cli.lifecycle:people", "人员名册：工作人员与志愿者。"),
    "plugin": ("jianhu.cli.plugins:plugin", "插件开发：生成插件骨架。"),
    "plugins": ("jianhu.cli.plugins:plugins", "插件：查看已加载的插件，按乡镇启用并设置。"),
    "record": ("jianhu.cli.lifecycle:record",
               "在个案上登记一份表单 FORM（JSON 文件 FILE）：assessment 评估、plan 救助方案、"
               "service 服务、\nvisit 随访、incident 侵害事件、police_report 向公安机关报告、"
               "escalation 干预升级、closure 结案、\nreturn_visit 回访、guardianship 监护变更、"
               "level_override 等级调整。选项可写代码或中文名（如「入户」）。"),
    "report": ("jianhu.cli.data:report",
               "生成报表 NAME（默认 summary 汇总表）。汇总表只含人数；"
               "花名册、季度更新、强制报告登记簿含儿童身份信息，\n只有可生成个案文书的角色能生成，记入审计。"),
    "restore": ("jianhu.cli.deploy:restore",
                "解密并检查备份 FILE，再用它覆盖当前数据库（须加 --yes 确认）。"),
    "retention": ("jianhu.cli.audit:retention",
                  "保存期限：儿童已成年且工作结束满一定年限后，对其个人信息去标识（汇总数据保留）。"),
    "sample": ("jianhu.cli.workspace:sample",
               "生成样例数据（虚构儿童和人员）："
               "screening.xlsx、assessment.xlsx、people.xlsx 和 records.jsonl。"),
    "serve": ("jianhu.cli.web:serve",
              "启动网页界面和 JSON 接口（/api/，说明见 /openapi.json），供乡镇和村工作人员登录使用。"),
    "teams": ("jianhu.cli.teams:teams",
              "队伍：领导小组、村工作小组、公益社、评估小组、救助服务队及其成员。"),
    "template": ("jianhu.cli.workspace:template",
                 "生成表单 FORM 的空白导入模板：screening、assessment 用 "
                 "jianhu import screening / assessment\n导入；个案记录表单（visit、service、plan……）"
                 "第一栏为个案编号，用 jianhu import records 导入。"),
    "training": ("jianhu.cli.teams:training",
                 "培训：登记培训和参加人员，查看个人培训记录和一年内未参加培训的人员。"),
    "transfer": ("jianhu.cli.registry:transfer",
                 "个案转移：儿童随家庭迁居时，把儿童和个案移交给接收的乡镇或村（社区）。"),
}



def _listed(name: str, make: Callable[..., Any], cls: type[click.Command],
            attrs: dict[str, Any]) -> Callable[[Callable[..., Any]], Any]:
    def decorate(f: Callable[..., Any]) -> Any:
        details = inspect.getdoc(f)
        summary = COMMANDS[name][1]
        return make(name, cls=cls, help=f"{summary}\n\n{details}" if details else summary,
                    **attrs)(f)
    return decorate


def command(name: str, **attrs: Any) -> Callable[[Callable[..., Any]], JianhuCommand]:
    """Make a command of the root group listed in :data:`COMMANDS` under ``name`` (like
    ``@cli.command(name)``): its help is the table's summary, then the function's docstring."""
    return _listed(name, click.command, JianhuCommand, attrs)


def group(name: str, **attrs: Any) -> Callable[[Callable[..., Any]], JianhuSubGroup]:
    """Make a command group of the root group listed in :data:`COMMANDS` under ``name`` (like
    ``@cli.group(name)``): its help is the table's summary, then the function's docstring."""
    return _listed(name, click.group, JianhuSubGroup, attrs)


class JianhuGroup(_Chinese, click.Group):
    """The root group: imports a command's module only when the command runs (its name and
    summary come from :data:`COMMANDS`), adds plugin commands lazily and prints user errors
    without tracebacks."""

    command_class = JianhuCommand
    group_class = JianhuSubGroup

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        # once per invocation (ctx.meta is shared by its whole context tree): each invocation
        # may name another plugins directory (the same process runs many in tests)
        if ctx.meta.get("jianhu.plugin_commands"):
            return
        ctx.meta["jianhu.plugin_commands"] = True
        ws = ctx.ensure_object(Workspace)
        ws.plugins_dir = ctx.params.get("plugins_dir")
        try:
            ws.host.register_commands(self)
        except JianhuError as exc:
            _fail(str(exc))

    @staticmethod
    def _load(name: str) -> click.Command:
        module, _, attr = COMMANDS[name][0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def core_commands(self) -> dict[str, click.Command]:
        """Every command of :data:`COMMANDS` by name, imported (without plugin commands)."""
        return {name: self._load(name) for name in COMMANDS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in COMMANDS:
                self.add_command(self._load(cmd_name), cmd_name)
            else:
                self._add_plugin_commands(ctx)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, as click writes it; a command not imported yet shows
        the summary of :data:`COMMANDS`, shortened as click shortens a help text."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            if not cmd.hidden:
                commands.append((name, cmd))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in commands])

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; click's own usage errors are told in Chinese (exit code 2)."""
        standalone = kwargs.pop("standalone_mode", True)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as exc:
            if not standalone:
                raise
            sys.exit(exc.exit_code)
        except click.Abort:
            if not standalone:
                raise
            click.echo("已取消", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            if not standalone:
                raise
            where = exc.ctx.command_path if exc.ctx is not None else "jianhu"
            click.echo(f"错误：{usage_message(exc)}（用 {where} --help 查看用法）", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # e.g. a file option that names a directory
            if not standalone:
                raise
            click.echo(f"错误：{_translate(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImportRejected as exc:
            click.echo(str(exc), err=True)
            for error in exc.errors[:MAX_ROW_ERRORS]:
                click.echo(f"  {error}", err=True)
            if exc.total > min(len(exc.errors), MAX_ROW_ERRORS):
                click.echo(f"  ……另有{exc.total - min(len(exc.errors), MAX_ROW_ERRORS)}处错误未列出",
                           err=True)
            sys.exit(1)
        except JianhuError as exc:
            _fail(str(exc))
        except _database_error() as exc:
            _fail(f"数据库出错：{_db_problem(exc)}（数据库地址：{_safe_url(_used_url(ctx))}）")
        except OSError as exc:
            _fail(f"文件读写出错：{exc.strerror or exc}（{exc.filename or ''}）")
        finally:
            ws = ctx.find_object(Workspace)
            if ws is not None and ws._engine is not None:
                ws._engine.dispose()  # close pooled connections (and their SET ROLE) at exit


#: click's English phrases and what a user reads instead (click 8's messages).
_PHRASES = (
    ("is not a valid integer.", "不是整数"), ("is not a valid float.", "不是数字"),
    ("is not a valid boolean.", "不是「是/否」"), ("is not one of", "不是可选值之一："),
    ("is not in the range", "超出范围"), ("does not exist.", "不存在。"),
    ("is a directory.", "是目录，不是文件。"), ("is a file.", "是文件，不是目录。"),
    ("is not readable.", "无法读取。"), ("is not writable.", "无法写入。"),
)


def _translate(text: str) -> str:
    for english, chinese in _PHRASES:
        text = text.replace(english, chinese)
    return text.replace("File ", "文件 ").replace("Directory ", "目录 ").replace("Path ", "路径 ")


def usage_message(exc: click.UsageError) -> str:
    """A Chinese sentence for one of click's usage errors (missing or unknown option, bad
    value, unknown command)."""
    def name(param: click.Parameter | None) -> str:
        if param is None:
            return ""
        return param.opts[0] if param.opts and param.opts[0].startswith("-") \
            else param.human_readable_name

    if isinstance(exc, click.MissingParameter):
        missing = name(exc.param)
        return f"缺少{'选项' if missing.startswith('-') else '参数'} {missing}"
    if isinstance(exc, click.NoSuchOption):
        if exc.option_name in ("--as", "--db", "--plugins-dir"):
            return (f"{exc.option_name} 是全局选项，须写在命令之前，如 jianhu {exc.option_name} "
                    f"值 {exc.ctx.command_path.removeprefix('jianhu ') if exc.ctx else '命令'} …")
        near = [p for p in exc.possibilities or () if p != "--help"]
        hint = f"，是否想用 {'、'.join(near)}？" if near else ""
        return f"没有选项 {exc.option_name}{hint}"
    if isinstance(exc, click.BadParameter):
        return f"{name(exc.param) or exc.param_hint or ''} 的值不对：{_translate(exc.message)}"
    message = exc.message
    if message.startswith("Option '") and message.endswith("requires an argument."):
        return f"选项 {message.split(chr(39))[1]} 后面须写一个值"
    if message.startswith("No such command"):
        return "没有命令 " + message.removeprefix("No such command").strip(" .'\"")
    if message.startswith("Got unexpected extra argument"):
        return "多余的参数：" + message.split("(", 1)[-1].rstrip(")")
    return _translate(message)


def _database_error() -> type[Exception]:
    """SQLAlchemy's error class, imported only when a command has failed (so that ``--help`` and
    ``--version`` do not load the database layer)."""
    from sqlalchemy.exc import SQLAlchemyError

    return SQLAlchemyError


def _db_problem(exc: Exception) -> str:
    """A short reason for a database error, without SQL or parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()[0]
    return text[:300]


def _used_url(ctx: click.Context) -> str:
    """The database URL the command used (for messages)."""
    ws = ctx.find_object(Workspace)
    return ws.url if ws is not None else ""


def _safe_url(url: str) -> str:
    """``url`` with any password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "（无法解析）"


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@click.group(cls=JianhuGroup, name="jianhu")
@click.version_option(__version__, prog_name="jianhu", help="显示版本并退出")
@click.option("--db", "db_url", metavar="URL", help="数据库地址（默认读 JIANHU_DATABASE_URL；"
              "否则为 JIANHU_HOME 目录的 jianhu.db；否则从当前目录向上找到的第一个 jianhu.db）")
@click.option("--plugins-dir", type=click.Path(file_okay=False), envvar="JIANHU_PLUGINS_DIR",
              help="单文件插件目录（也可用 JIANHU_PLUGINS_DIR）")
@click.option("--as", "acting_as", metavar="PERSON", envvar="JIANHU_USER",
              help="以名册中该编号的人员身份操作（也可用 JIANHU_USER；默认本地管理员）")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, plugins_dir: str | None,
        acting_as: str | None) -> None:
    """监护 Jianhu：儿童家庭监护缺失社会干预工具（新政发〔2016〕8号）。"""
    ws = ctx.ensure_object(Workspace)
    ws.db_url = db_url
    ws.plugins_dir = plugins_dir
    ws.acting_as = acting_as


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal; yields an ``advance(n)`` function or
    ``None`` when not on a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def console() -> Any:
    """A rich console on stdout, 160 columns wide when output goes to a file or a pipe (so
    tables of Chinese text are not cut to 80 columns)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def main() -> None:
    """Entry point of the ``jianhu`` command."""
    logging.basicConfig(level=logging.WARNING, format="警告：%(message)s", stream=sys.stderr)
    for noisy in ("weasyprint", "fontTools"):  # font-subsetting notices are not the user's concern
        logging.getLogger(noisy).setLevel(logging.ERROR)
    cli(obj=None)
