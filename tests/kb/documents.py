"""Real documents of every format, made with real libraries at test time (no binary blobs)."""

from __future__ import annotations

import io


def pdf(pages: list[str], title: str | None = None) -> bytes:
    from fpdf import FPDF

    document = FPDF()
    if title:
        document.set_title(title)
    document.set_font("helvetica", size=11)
    for text in pages:
        document.add_page()
        document.multi_cell(0, 6, text)
    return bytes(document.output())


def docx(title: str, sections: list[tuple[str, str]], table: list[list[str]] | None = None) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    for heading, text in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML = """<!doctype html><html><head><title>Coolant handbook</title>
<style>p { color: red }</style><script>var secret = "do not index";</script></head>
<body><nav>Home | About</nav>
<h1>Coolant handbook</h1>
<h2>Mixing</h2><p>Mix the coolant at 6 percent concentrate with deionised water.</p>
<h2>Limits</h2>
<table><tr><th>Machine</th><th>Max pH</th></tr><tr><td>M-101</td><td>9.2</td></tr>
<tr><td>M-102</td><td>9.4</td></tr></table>
<ul><li>Check the level every shift.</li><li>Log the pH weekly.</li></ul>
</body></html>"""

MARKDOWN = """# Torque handbook

Intro paragraph about fastening.

## Line 4

### Bolts

M8 bolts on line 4 are tightened to 25 Nm with a calibrated wrench.

| Bolt | Torque |
|------|--------|
| M6   | 10 Nm  |
| M8   | 25 Nm  |

## Line 5

Line 5 uses rivets, not bolts.
"""
