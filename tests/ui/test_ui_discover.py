"""Classify the catalog and find the odd ones in Chromium against ``panel serve app.py`` (issue 22):
the "Label these next" gallery saves a label with origin manual that a reload keeps, and the "Find the
odd ones" gallery saves an answer with origin anomaly-feedback that a reload keeps.

Screenshots in test-artifacts/screenshots/discover-*.png.
"""

from __future__ import annotations

import pandas as pd
import pytest

from uitext import READ_TIMEOUT_MS, wait_text

pytestmark = pytest.mark.ui

N_POINTS = 150


def ready(dash, server) -> None:
    dash.open(server)
    dash.wait_map(N_POINTS)
    wait_text(dash, "lcx-status", "Map ready", timeout_s=240)


def add_label(page, name: str) -> None:
    options = page.locator(".lcx-label-select select option").all_inner_texts()
    if name not in options:
        page.locator(".lcx-label-input input").first.fill(name)
        page.locator(".lcx-label-add button").first.click()


def test_label_these_next_saves_labels_a_reload_keeps(ui_server, ui_data_root, dash, shot):
    ready(dash, ui_server)
    page = dash.page
    for name in ("next-periodic", "next-flat"):
        add_label(page, name)
        page.locator(".lcx-label-select select option", has_text=name).first.wait_for(state="attached",
                                                                                      timeout=30_000)
    dash.show_tab("Classify")
    page.locator(".lcx-label-next button").first.click()
    wait_text(dash, "lcx-status", "Label these next")
    card = page.locator(".lcx-next-card").first
    card.wait_for(timeout=60_000)
    assert page.locator(".lcx-next-card").count() == 8
    oid = card.locator("svg text").first.text_content(timeout=READ_TIMEOUT_MS).strip()
    card.locator(".lcx-next-label button", has_text="next-periodic").first.click()
    wait_text(dash, "lcx-status", "Label 'next-periodic' given to 1 object")
    shot(page, "discover-label-next")
    labels = pd.read_csv(ui_data_root / "ui_small" / "ui_small.labels.csv", dtype=str).set_index("object_id")
    assert labels.loc[oid, "label"] == "next-periodic" and labels.loc[oid, "origin"] == "manual"
    # a reload (a new session) keeps it: find the object, its header names the label
    ready(dash, ui_server)
    dash.page.locator(".lcx-search input").first.fill(oid)
    dash.page.locator(".lcx-search input").first.press("Enter")
    wait_text(dash, "lcx-tapped", "your label: next-periodic")


def test_find_the_odd_ones_saves_answers_a_reload_keeps(ui_server, ui_data_root, dash, shot):
    ready(dash, ui_server)
    page = dash.page
    dash.show_tab("Odd ones")
    page.locator(".lcx-find-odd button").first.click()
    wait_text(dash, "lcx-status", "by how odd they are")
    card = page.locator(".lcx-odd-card").first
    card.wait_for(timeout=60_000)
    assert page.locator(".lcx-odd-card").count() == 12
    title = card.locator("svg text").first.text_content(timeout=READ_TIMEOUT_MS).strip()  # "#1 ui-0042"
    oid = title.split()[-1]
    card.locator(".lcx-odd-yes button").first.click()
    wait_text(dash, "lcx-status", "re-ranked with your")
    shot(page, "discover-odd-ones")
    feedback = pd.read_csv(ui_data_root / "ui_small" / "ui_small.anomaly-feedback.csv", dtype=str)
    row = feedback.set_index("object_id").loc[oid]
    assert row["anomaly"] == "1" and row["origin"] == "anomaly-feedback"
    ready(dash, ui_server)
    dash.show_tab("Odd ones")
    dash.page.locator(".lcx-find-odd button").first.click()
    answered = dash.page.locator(".lcx-odd-card", has_text=oid).first
    answered.wait_for(timeout=120_000)
    # the card of that object says the answer given in the other session (locators pierce shadow roots)
    answered.locator(".lcx-odd-answer", has_text="your answer: anomaly").first.wait_for(timeout=60_000)
