"""Letters as one PDF ready to print (fpdf2): each letter on a page of its own (or more), the
recipient block where a window envelope shows it, a protected youth's letter marked for
forwarding by Skatteverket in that block and at the top of the page.

The text is set in DejaVu Sans where the system has it (every Swedish and foreign name); without
it in the PDF core font, whose Latin-1 covers Swedish (other characters are replaced)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

from services.outreach.domain.letters import FORWARDING, Letter

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
LEFT_MM = 25
RECIPIENT_TOP_MM = 45  # the window of a C5/E65 envelope
RECIPIENT_LEFT_MM = 110


def _font() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


class _Writer:
    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_auto_page_break(auto=True, margin=20)
        self.pdf.set_margins(LEFT_MM, 20, 20)
        self.pdf.set_title(title)
        self.pdf.set_creator("kaa")
        font = _font()
        self.unicode = font is not None
        if font is not None:
            self.pdf.add_font("body", "", str(font[0]))
            self.pdf.add_font("body", "B", str(font[1]))
            self.family = "body"
        else:
            self.family = "Helvetica"

    def text(self, value: str) -> str:
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def write(self, value: str, size: float = 11, bold: bool = False, height: float = 5.5) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, height, self.text(value), new_x="LMARGIN", new_y="NEXT")

    def letter(self, letter: Letter) -> None:
        pdf = self.pdf
        pdf.add_page()
        if letter.forwarding:
            self.write(FORWARDING, size=12, bold=True)
        pdf.set_xy(RECIPIENT_LEFT_MM, RECIPIENT_TOP_MM)
        pdf.set_font(self.family, "", 11)
        for line in letter.recipient:
            pdf.set_x(RECIPIENT_LEFT_MM)
            pdf.cell(0, 5.5, self.text(line), new_x="LEFT", new_y="NEXT")
        pdf.set_xy(RECIPIENT_LEFT_MM, pdf.get_y() + 8)
        pdf.cell(0, 5.5, letter.made_on.isoformat(), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y() + 15, 100))
        self.write(letter.subject, size=13, bold=True, height=7)
        pdf.ln(3)
        for paragraph in letter.body.split("\n"):
            if paragraph.strip():
                self.write(paragraph)
            else:
                pdf.ln(3)


def letters_pdf(letters: Sequence[Letter], title: str = "Brev") -> bytes:
    """One PDF of the letters, in order: each starts on a new page."""
    writer = _Writer(title)
    for letter in letters:
        writer.letter(letter)
    return bytes(writer.pdf.output())
