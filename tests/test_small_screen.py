"""The newcomer's small-screen defects: the first size fits the screen, and nothing shown (a file
with a long path, a long status message) makes the window need more than 1280 px."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QComboBox

from gdl_studio.core.paths import resources_dir
from gdl_studio.engine.worker import Engine
from gdl_studio.ui.settings import Settings
from gdl_studio.ui.shell import main_window as mw


def _open_window(qtbot, size: QSize | None = None) -> mw.MainWindow:
    engine = Engine()
    engine.start()
    win = mw.MainWindow(engine, Settings())
    qtbot.addWidget(win)
    if size is not None:
        win.resize(size)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot):
    win = _open_window(qtbot)
    yield win
    win.close()


@pytest.mark.parametrize("available", [QSize(1600, 1000), QSize(1366, 768), QSize(1280, 720)])
def test_first_size_fits_the_available_screen(available):
    for minimum in (QSize(1107, 457), QSize(1780, 500)):  # 1780: the minimum the newcomer met
        size = mw.first_size(minimum, available)
        assert size.width() <= available.width() and size.height() <= available.height()
    assert mw.first_size(QSize(900, 400), QSize(2560, 1440)) == QSize(1280, 800)


def test_long_path_and_long_messages_keep_the_minimum_width(window, qtbot, tmp_path):
    folder = tmp_path
    for _ in range(4):
        folder = folder / ("a-folder-with-a-rather-long-name-" * 2)
    folder.mkdir(parents=True)
    midi = folder / ("my-piece-with-a-very-long-file-name-" * 4 + ".mid")
    shutil.copy(resources_dir() / "examples" / "melody.mid", midi)
    assert window.open_path(str(midi))
    compose = window.panels["compose"]
    compose.title_label.setText(midi.stem * 2)  # as long as a title gets
    compose.live.session.audio_message = "Audio output unavailable: " + "PortAudio could not open the device. " * 6
    compose.live_io.update_io_status()  # shows it when the output is the built-in synth
    compose.io_status.setText(compose.live.session.audio_message)  # whatever the output chosen before
    compose.selection_label.setText("C4 · beat 1 · length 1 · velocity 90 · track 1 " * 3)
    window.model_label.setText("Model: " + "a personal model with a long name " * 4)
    window.show_message(f"Opened {midi}")
    for panel_id in ("compose", "sketch", "dream"):
        window.show_panel(panel_id)
        qtbot.wait(20)
        assert window.minimumSizeHint().width() <= mw.MAX_MINIMUM_WIDTH, panel_id
        assert window.minimumSizeHint().width() <= mw.MAX_MINIMUM_WIDTH
    # the long texts are there in full (shortened only where drawn)
    assert compose.io_status.text().startswith("Audio output unavailable")
    assert compose.io_status.toolTip() == compose.io_status.text()


@pytest.fixture
def themed_window(qtbot):
    """The main window with the app's own style and stylesheet (its fonts and paddings decide widths)."""
    from PySide6.QtWidgets import QApplication

    from gdl_studio.ui import theme

    app = QApplication.instance()
    style, sheet = app.style().name(), app.styleSheet()
    theme.apply(app)
    win = _open_window(qtbot, QSize(1366, 768))
    yield win
    win.close()
    app.setStyleSheet(sheet)
    app.setStyle(style)


def test_model_pickers_show_every_shipped_label_whole_at_1366(themed_window, qtbot):
    """At 1366×768 the Compose picker clipped "Attention LSTM" to "Attention LSTI": each picker now
    keeps its longest shipped label whole (a long personal name may still be cut)."""
    window = themed_window
    assert window.width() == 1366
    for panel_id in ("compose", "sketch", "dream"):
        window.show_panel(panel_id)
        qtbot.wait(50)
        panel = window.panels[panel_id]
        combos = [getattr(panel, name) for name in ("model_combo", "controller_combo") if hasattr(panel, name)]
        assert combos, panel_id
        for combo in combos:
            labels = [combo.itemText(i) for i in range(combo.count()) if not combo.itemText(i).startswith("★")]
            longest = max(labels, key=combo.fontMetrics().horizontalAdvance)
            # what a combo styled like this one needs to show that label whole (padding, arrow)
            probe = QComboBox(combo.parentWidget())
            probe.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            probe.addItem(longest)
            probe.ensurePolished()
            need = probe.sizeHint().width()
            probe.deleteLater()
            assert combo.width() >= need, (panel_id, longest, combo.width(), need)
        assert window.minimumSizeHint().width() <= mw.MAX_MINIMUM_WIDTH, panel_id
