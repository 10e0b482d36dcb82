"""docs/runbook.md as one HTML page for `/runbook`: alerts link to the stack's own copy, which still
opens when international routes (and with them github.com) are down.

The package ships the Markdown (`exporter/runbook.md` links to docs/runbook.md); Python-Markdown's
`toc` extension gives every heading the GitHub-style id the alerts' runbook_url anchors name.
"""

from __future__ import annotations

import functools
from importlib import resources

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spse-exporter runbook / panduan penanganan alert</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em; line-height: 1.45; }}
pre {{ background: #f4f4f4; padding: .6em; overflow-x: auto; }}
code {{ background: #f4f4f4; }}
h2 {{ border-top: 1px solid #ccc; padding-top: .6em; }}
:target {{ background: #fff3c4; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def markdown_text() -> str:
    return resources.files("exporter").joinpath("runbook.md").read_text(encoding="utf-8")


@functools.cache
def page() -> bytes:
    """The rendered runbook; rendered once, since the packaged file does not change while running.
    Markdown is imported here, not with the server: 1.2 MiB of RSS that only a /runbook request needs."""
    import markdown

    body = markdown.markdown(markdown_text(), extensions=["fenced_code", "tables", "toc"], output_format="html")
    return PAGE.format(body=body).encode()
