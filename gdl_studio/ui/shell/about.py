"""Help → About: the version and the model cards of every installed model."""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from gdl_studio import __version__
from gdl_studio.core.registry import default_registry


def _metric_text(value: object) -> str:
    """A card metric as the table shows it: dicts and lists as JSON."""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def cards_html() -> str:
    """An HTML summary of every model card the registry finds."""
    cards = default_registry().cards()
    if not cards:
        return "<p><i>No models are installed.</i></p>"
    parts = []
    for card in cards:
        data = card.data
        metrics = data.get("metrics", {})
        metric_rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_metric_text(v))}</td></tr>"
            for k, v in metrics.items()
        )
        arch = ", ".join(f"{k}={v}" for k, v in data.get("architecture", {}).items() if not isinstance(v, (dict, list)))
        kind = "personal" if card.personal else "shipped"
        size = data.get("size_bytes")
        size_text = f"{size / 1e6:.1f} MB" if isinstance(size, (int, float)) else ""
        parts.append(
            f"<h3>{html.escape(card.name)} "
            f"<small>({html.escape(card.family)}, {kind}{', ' + size_text if size_text else ''})</small></h3>"
            f"<p>{html.escape(data.get('description', ''))}</p>"
            f"<p><b>Architecture:</b> {html.escape(arch)}</p>"
            f"<p><b>Data:</b> {html.escape(json.dumps(data.get('data', {}))[:400])}</p>"
            f"<table cellspacing='6'>{metric_rows}</table>"
            f"<p><b>Trained with:</b> <code>{html.escape(str(data.get('training_command', '')))}</code><br>"
            f"<b>sha256:</b> <code>{html.escape(data.get('sha256', ''))}</code></p>"
        )
    return "".join(parts)


class AboutDialog(QDialog):
    """Version, credits and the loaded model cards."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About GDL Studio")
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        header = QLabel(
            f"<h2>GDL Studio {__version__}</h2>"
            "<p>Generative deep learning for musicians and artists: an attention LSTM and a "
            "Transformer that continue your music, a VRNN that extends your handwriting, and a "
            "World Model that dreams CarRacing. Everything runs offline on your CPU.</p>"
        )
        header.setWordWrap(True)
        layout.addWidget(header)
        browser = QTextBrowser(self)
        browser.setHtml("<h2>Model cards</h2>" + cards_html())
        layout.addWidget(browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
