from kb.search import highlight, search_terms


def test_search_terms_keeps_phrases_and_drops_duplicates():
    assert search_terms('exit "Last State" Exit code') == ["Last State", "exit", "code"]


def test_highlight_marks_every_match_case_insensitively():
    assert str(highlight("Exit code 137 on exit", ["exit"])) == (
        "<mark>Exit</mark> code 137 on <mark>exit</mark>"
    )


def test_highlight_escapes_hostile_text():
    html = str(highlight("<script>alert(1)</script> boom", ["boom"]))
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>boom</mark>"


def test_highlight_centres_a_long_text_on_the_first_match():
    text = "word " * 100 + "needle " + "word " * 100
    html = str(highlight(text, ["needle"], width=80))
    assert html.startswith("… ") and html.endswith(" …")
    assert "<mark>needle</mark>" in html
