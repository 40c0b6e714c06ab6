"""The youth's extract as a PDF (fpdf2): a title (shown as the window's title) and the document
language (Swedish) in the file, a marked PDF whose headings are the document outline and the
structure tree, short paragraphs beneath (fpdf2 tags the headings, not the paragraphs).

The text is set in DejaVu Sans where the system has it (every name); without it in the PDF core
font, whose Latin-1 covers Swedish (other characters are replaced)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF, TextStyle, ViewerPreferences

from services.register.domain.extract_document import Section

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
HEADING_SIZES = (16, 13)


def _font() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


def extract_pdf(sections: Sequence[Section], title: str) -> bytes:
    """The sections as a PDF: each heading an outline entry, each paragraph its own block."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(22, 20, 22)
    pdf.set_title(title)
    pdf.set_lang("sv")
    pdf.set_subject("Registerutdrag enligt artikel 15 i dataskyddsförordningen")
    pdf.set_creator("kaa")
    pdf.set_display_mode("fullwidth")
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    font = _font()
    family = "body" if font is not None else "Helvetica"
    if font is not None:
        pdf.add_font("body", "", str(font[0]))
        pdf.add_font("body", "B", str(font[1]))

    def text(value: str) -> str:
        return value if font is not None else value.encode("latin-1", "replace").decode("latin-1")

    pdf.set_section_title_styles(
        *(TextStyle(font_family=family, font_style="B", font_size_pt=size, t_margin=4,
                    b_margin=2) for size in HEADING_SIZES)
    )  # fmt: skip
    pdf.add_page()
    for section in sections:
        pdf.set_font(family, "B", HEADING_SIZES[min(section.level, 1)])
        pdf.start_section(text(section.heading), level=min(section.level, 1))
        pdf.set_font(family, "", 11)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 5.5, text(paragraph), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
    return bytes(pdf.output())
