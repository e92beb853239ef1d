"""Reading a JSON file a person hands the system (answers, settings, teams), with the Chinese
message for each way it can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jianhu.errors import JianhuError


def read_json(path: Path) -> Any:
    """The JSON value in a UTF-8 (BOM allowed) file.

    Raises:
        JianhuError: missing, not UTF-8, or not JSON (Chinese message naming the file and, for
            bad JSON, the line and column).
    """
    if not path.is_file():
        raise JianhuError(f"找不到文件：{path}")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        where = "文件是空的" if not exc.doc.strip() else f"第{exc.lineno}行第{exc.colno}列格式有误"
        raise JianhuError(f"{path.name} 不是有效的 JSON 文件：{where}") from None
    except UnicodeDecodeError:
        raise JianhuError(f"{path.name} 不是 UTF-8 编码的文本文件（请另存为 UTF-8）") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """The one JSON object in a file (:func:`read_json`).

    Raises:
        JianhuError: as :func:`read_json`, or the file holds something other than an object.
    """
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise JianhuError(f"{path.name} 应为一个 JSON 对象")
    return doc
