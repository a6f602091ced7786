"""In a real browser: a page linked the console's stylesheet, and its policy let it apply."""

from __future__ import annotations

from typing import Any

STYLESHEET = "/assets/console.css"


def watch_stylesheet(page: Any) -> list[tuple[int, str]]:
    """The status and content type of every answer for the console's stylesheet."""
    answers: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda response: (
            answers.append((response.status, response.headers.get("content-type", "")))
            if response.url.split("?")[0].endswith(STYLESHEET)
            else None
        ),
    )
    return answers


def assert_console_stylesheet_applied(page: Any, answers: list[tuple[int, str]]) -> None:
    """The page linked the console's stylesheet, the server answered it, and the policy let
    the browser apply it (a refused or failed sheet has no rules to read)."""
    assert answers and all(status in (200, 304) for status, _ in answers), answers
    assert answers[0][1].startswith("text/css"), answers
    rules = page.evaluate(
        "href => [...document.styleSheets].filter(s => s.href && s.href.endsWith(href)).map(s => s.cssRules.length)",
        STYLESHEET,
    )
    assert len(rules) == 1 and rules[0] > 0, rules
