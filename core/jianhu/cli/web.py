"""``jianhu serve``: the web interface and the JSON API (FastAPI, served by uvicorn)."""

from __future__ import annotations

import click

from jianhu.cli.root import Workspace, command, pass_workspace


@command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址（县服务器上由 nginx 在本机转发，保持 127.0.0.1）")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="监听端口")
@pass_workspace
def serve(ws: Workspace, host: str, port: int) -> None:
    """会话 Cookie 的签名密钥读 JIANHU_WEB_SECRET（不设则每次启动随机生成，重启后需重新登录）；
    JIANHU_WEB_SECURE_COOKIE=auto|1|0 决定 Cookie 是否加 Secure（auto：经 HTTPS 访问时加）。
    """
    import uvicorn

    from jianhu.web import WebConfig, create_app

    app = create_app(ws.engine, ws.host, WebConfig.from_env())
    click.echo(f"监护网页界面：http://{host}:{port}/ （Ctrl+C 停止）")
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level="warning", server_header=False)
