"""The county deployment manifest (TOML), validated against ``deployment.schema.json``.

Checks, each reported in Chinese with the key it concerns (e.g. ``townships[2].code``, entries
numbered from 1 in file order):

- the JSON Schema (types, required keys, code formats);
- each township code belongs to the county (its first 6 digits are the county's GB/T 2260 code),
  appears once, and — where the installed area plugins know the county — is one of its towns with
  the same name (statistical division codes, 2023);
- each village code (when given) is a 12-digit code under its township (:mod:`jianhu.villages`);
- each user code appears once; township users name a township of the manifest, county users
  (``county_admin``, ``county_viewer``) none; a village child director names a village of that
  township when villages are listed;
- each enabled plugin is installed, and its settings pass the schema the plugin declares.
"""

from __future__ import annotations

import json
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from jianhu.errors import JianhuError
from jianhu.forms.registry import Form
from jianhu.plugins import Host
from jianhu.roles import COUNTY
from jianhu.villages import code_problem

COUNTY_ONLY = COUNTY | {"trainer"}


def schema_form() -> Form:
    """The manifest schema as a :class:`~jianhu.forms.registry.Form` (for Chinese messages)."""
    schema = json.loads((resources.files("jianhu") / "schemas" / "deployment.schema.json")
                        .read_text("utf-8"))
    return Form("deployment", int(schema.get("version", 1)), schema)


def load(path: str | Path) -> dict[str, Any]:
    """Read a manifest file.

    Raises:
        JianhuError: missing file or TOML syntax error (with line and column).
    """
    path = Path(path)
    if not path.is_file():
        raise JianhuError(f"找不到部署清单：{path}")
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise JianhuError(f"部署清单 {path.name} 不是 UTF-8 编码的文本：请用 UTF-8 另存") from None
    except tomllib.TOMLDecodeError as exc:
        raise JianhuError(f"部署清单 {path.name} 不是有效的 TOML：{exc}") from None


def _key(path: tuple[str, ...]) -> str:
    """A manifest key as people count: ``users[3].role`` is the third ``[[users]]`` entry."""
    out = ""
    for p in path:
        out += f"[{int(p) + 1}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def problems(manifest: dict[str, Any], host: Host) -> list[str]:
    """Every problem of ``manifest`` as a Chinese line starting with the key it concerns."""
    form = schema_form()
    found: list[str] = []
    if not form.is_valid(manifest):
        from jianhu.forms.validation import explain

        def where(path: tuple[str, ...]) -> str:
            return f"{_key(path)}（{form.title_at(path)}）" if path else "清单"

        for column, message in explain(form.reference, manifest, where, form.schema_at):
            found.append(f"{column}：{message}")
        return found
    county = manifest["county"]["code"]
    known = {a.code: a for a in host.areas.values() if a.code.startswith(county)
             and a.level != "county"}
    codes: dict[str, int] = {}
    villages: dict[str, set[str]] = {}
    plugins = {p.name for p in host.plugins()}
    for i, t in enumerate(manifest["townships"]):
        key = f"townships[{i + 1}]"
        if not t["code"].startswith(county):
            found.append(f"{key}.code：「{t['code']}」不属于县 {county}")
        elif known and t["code"] not in known:
            found.append(f"{key}.code：「{t['code']}」不是{manifest['county']['name']}的乡镇代码")
        elif known and known[t["code"]].name != t["name"]:
            found.append(f"{key}.name：代码 {t['code']} 是「{known[t['code']].name}」，不是「{t['name']}」")
        if t["code"] in codes:
            found.append(f"{key}.code：与 townships[{codes[t['code']] + 1}] 重复")
        codes.setdefault(t["code"], i)
        villages[t["code"]] = set()
        for j, v in enumerate(t.get("villages", [])):  # a name, or a name and its code
            name, code = (v, None) if isinstance(v, str) else (v["name"], v.get("code"))
            villages[t["code"]].add(name)
            problem = code and code_problem(code, t["code"], t["name"])
            if problem:
                found.append(f"{key}.villages[{j + 1}].code：{problem}")
            elif code:
                villages[t["code"]].add(code)
        for name in t.get("plugins", []):
            if name not in plugins:
                found.append(f"{key}.plugins：没有安装插件「{name}」")
        for name, settings in t.get("plugin_settings", {}).items():
            if name not in t.get("plugins", []):
                found.append(f"{key}.plugin_settings.{name}：该插件没有在 plugins 中启用")
                continue
            schema = host.settings_schemas.get(name)
            if schema is not None:
                sform = Form(f"settings:{name}", 1, dict(schema))
                for col, msg in sform.problems(settings):
                    found.append(f"{key}.plugin_settings.{name}：「{col}」{msg}")
    users: dict[str, int] = {}
    for i, u in enumerate(manifest.get("users", [])):
        key = f"users[{i + 1}]"
        if u["code"] in users:
            found.append(f"{key}.code：用户「{u['code']}」与 users[{users[u['code']] + 1}] 重复")
        users.setdefault(u["code"], i)
        township = u.get("township")
        if u["role"] in COUNTY_ONLY:
            if township:
                found.append(f"{key}.township：县级角色不属于某个乡镇")
        elif not township:
            found.append(f"{key}.township：乡镇用户须填写所属乡镇代码")
        elif township not in codes:
            found.append(f"{key}.township：「{township}」不在本清单的乡镇中")
        if u["role"] == "village_child_director":
            village = u.get("village")
            if not village:
                found.append(f"{key}.village：儿童主任须填写负责的村（社区）")
            elif township in villages and villages[township] and village not in villages[township]:
                found.append(f"{key}.village：「{village}」不在该乡镇的村（社区）名单中")
    return found


def check(path: str | Path, host: Host) -> dict[str, Any]:
    """Load and check a manifest; return it when it has no problem.

    Raises:
        JianhuError: every problem, one per line, each naming its key.
    """
    manifest = load(path)
    found = problems(manifest, host)
    if found:
        raise JianhuError(f"部署清单 {Path(path).name} 有{len(found)}处错误：\n" + "\n".join(found))
    return manifest


def database_url(manifest: dict[str, Any], env: dict[str, str] | None = None) -> str:
    """The database URL from the manifest's ``url_env`` or ``url_file`` (never from the file).

    Raises:
        JianhuError: the variable is unset or the file is missing or empty.
    """
    env = dict(os.environ) if env is None else env
    db = manifest["database"]
    if "url_env" in db:
        url = env.get(db["url_env"], "")
        if not url:
            raise JianhuError(f"database.url_env：环境变量 {db['url_env']} 未设置")
        return url
    path = Path(db["url_file"])
    if not path.is_file() or not path.read_text("utf-8").strip():
        raise JianhuError(f"database.url_file：文件 {path} 不存在或为空")
    return path.read_text("utf-8").strip()
