"""GET /help: the users' guide (templates/help/guide.html), the part for the user's role
first. Open to everyone, logged in or not, like /login."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from layers.accounts.sessions import current_user
from layers.help.sections import PARTS, SHOTS_BY_NAME

bp = Blueprint("help", __name__)


@bp.get("/help")
def guide() -> str:
    user = current_user()
    role = user.role if user else None
    mine = next((part for part in PARTS if role in part[2]), None)
    return render_template("help/guide.html", title="使用帮助", parts=PARTS, mine=mine,
                           shots=SHOTS_BY_NAME)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
