"""`brief ui`: registered into the `brief` CLI through the 'brief.commands' entry point."""

from __future__ import annotations


def register(sub) -> None:
    from rag.commands.cli_desks import add_desk_arg

    p = sub.add_parser("ui", help="serve the chat UI (default http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to bind (setting ui_host; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (setting ui_port; default 7860)")
    add_desk_arg(p)  # the desk the UI opens on; its desk control switches to any other
    p.set_defaults(handler=cmd_ui, overrides=lambda a: {"ui_host": a.host, "ui_port": a.port})


def cmd_ui(args, settings) -> int:
    from rag.store.desks import open_desk
    from ui.app import serve

    serve(open_desk(settings))
    return 0
