"""The one problem banner (ui/widgets/problem_banner.py): shown only while there is a problem."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gdl_studio.ui.widgets.problem_banner import ProblemBanner


def test_banner_shows_and_hides_with_the_problem(qtbot):
    banner = ProblemBanner(action="Retry")
    qtbot.addWidget(banner)
    assert banner.isHidden() and banner.text() == ""
    banner.set_problem("<b>The model is unavailable</b> — not installed")
    assert not banner.isHidden() and "not installed" in banner.text()
    assert banner.label.textFormat() == Qt.TextFormat.AutoText
    banner.set_problem("a <path> from a traceback", plain=True)
    assert banner.label.textFormat() == Qt.TextFormat.PlainText
    with qtbot.waitSignal(banner.action_clicked, timeout=1000):
        assert banner.action_button is not None
        banner.action_button.click()
    banner.set_problem("")
    assert banner.isHidden()
