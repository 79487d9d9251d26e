"""Text that people type into the service (notes, names, descriptions) is plain text.

HTML markup in it (`<script>`, `<img onerror=...>`, `</...>`, `<!-- -->`, `<?...>`)
is refused with 400 before anything is stored, so the stores never hold it from
the web. Pages escape every text anyway: that is the defence that also covers
layer data imported from files. A "<" not followed by a Latin letter, "/", "!" or
"?" is plain text and kept: "灭火器<2个", "<小卖部>".
"""

from __future__ import annotations

import re

from layers.errors import BadRequest

MARKUP = re.compile(r"<[A-Za-z/!?]")


def refuse_markup(text: str, label: str) -> str:
    """`text` itself; BadRequest when it holds HTML markup."""
    if MARKUP.search(text):
        raise BadRequest(f"{label}: 不能包含 HTML 标记 (must be plain text: HTML markup such as "
                         "<script> or <img ...> is not accepted)")
    return text
