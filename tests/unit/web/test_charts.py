"""The charts drawn on the server: a text alternative with every figure, colour never alone."""

from __future__ import annotations

from services.web.domain.charts import bars, nice_top, wait_columns, waits_chart


def test_a_bar_chart_is_an_image_whose_description_says_every_value() -> None:
    chart = bars("d", "Andel kontaktade", ["VT 2025", "HT 2025"], [0.5, None], as_percent=True)
    assert chart.desc == "VT 2025: 50 %; HT 2025: saknas."
    assert chart.svg.startswith("<svg")
    assert 'role="img"' in chart.svg
    assert 'aria-labelledby="d-titel d-beskrivning"' in chart.svg
    assert '<title id="d-titel">Andel kontaktade</title>' in chart.svg
    assert ">50 %</text>" in chart.svg
    assert ">saknas</text>" in chart.svg
    assert chart.svg.count("<rect") == 1  # no bar for a missing value


def test_a_title_is_escaped() -> None:
    assert "<b>" not in bars("d", "<b>", ["x"], [1.0], as_percent=False).svg


def test_columns_past_the_limit_are_marked_and_a_long_tail_is_gathered() -> None:
    columns = wait_columns([(2, 3), (11, 1), (45, 2)], limit=10)
    assert [c.label for c in columns][-2:] == ["30", "> 30"]
    assert (columns[2].count, columns[2].over) == (3, False)
    assert (columns[11].count, columns[11].over) == (1, True)
    assert (columns[-1].count, columns[-1].over) == (2, True)


def test_the_distribution_is_hatched_past_the_limit_and_the_limit_is_labelled() -> None:
    chart = waits_chart("f", "Fördelning", [(3, 2), (12, 1)], limit=10)
    assert "3 första kontaktförsök. 2 inom gränsen på 10 arbetsdagar, 1 över den." in chart.desc
    assert 'fill="url(#f-streck)"' in chart.svg
    assert "Gräns: 10 arbetsdagar" in chart.svg
    assert 'stroke-dasharray="6 4"' in chart.svg
    empty = waits_chart("f", "Fördelning", [], limit=10)
    assert empty.desc.startswith("Inga första kontaktförsök")


def test_the_axis_ends_on_a_round_step() -> None:
    assert nice_top(0) == (4.0, 1.0)
    assert nice_top(7) == (8.0, 2.0)
    assert nice_top(130) == (150.0, 50.0)
