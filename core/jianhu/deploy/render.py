"""Server files for a county: systemd units for the web interface and (when the webhook plugin is
enabled for a township) the outbox worker, a scheduled backup, an nginx site
for the web interface, and the per-township handbook build list (Jinja2 templates in
``jianhu/templates/deploy``). Secrets are not written: the units read them from an environment
file the county IT officer creates (``/etc/jianhu/jianhu.env``) from the rendered
``jianhu.env.example``, which names every variable with a placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_env = Environment(loader=PackageLoader("jianhu", "templates/deploy"), undefined=StrictUndefined,
                   keep_trailing_newline=True)

FILES = {
    "jianhu-web.service": "jianhu-web.service.j2",
    "jianhu-outbox.service": "jianhu-outbox.service.j2",
    "jianhu-backup.service": "jianhu-backup.service.j2",
    "jianhu-backup.timer": "jianhu-backup.timer.j2",
    "nginx-jianhu.conf": "nginx-jianhu.conf.j2",
    "handbook-builds.sh": "handbook-builds.sh.j2",
    "jianhu.env.example": "jianhu.env.example.j2",
}


def render(manifest: dict[str, Any], out: str | Path) -> list[Path]:
    """Write the server files for ``manifest`` into ``out``; return their paths."""
    server = {"domain": "jianhu.local", "port": 8000, "install_dir": "/opt/jianhu",
              "user": "jianhu", "backup_time": "02:30", **manifest.get("server", {})}
    ctx = {"county": manifest["county"], "server": server,
           "backup_dir": manifest["database"].get("backup_dir", "/var/backups/jianhu"),
           "townships": manifest["townships"],
           "handbook": manifest.get("handbook", {})}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    webhook = any("webhook" in t.get("plugins", []) for t in manifest["townships"])
    ctx["webhook"] = webhook
    for name, template in FILES.items():
        if name == "jianhu-outbox.service" and not webhook:
            continue  # only a county with the webhook plugin enabled has an outbox to deliver
        path = out / name
        path.write_text(_env.get_template(template).render(**ctx), encoding="utf-8")
        written.append(path)
    return written
