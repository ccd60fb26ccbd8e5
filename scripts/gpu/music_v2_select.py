"""Pick the music v2 models from the runs of scripts/gpu/music_v2.sh — on validation data only.

    python3 scripts/gpu/music_v2_select.py RUNS_DIR MODELS_DIR

Transformer: among the variants whose infilling beats left-to-right on the validation gaps,
the one with the lowest nats/note on the round-1 styles' validation pieces (the pieces the
round-1 model was selected on). LSTM: the new one only if it beats the installed model's
validation nats/note on those same pieces. The chosen model directory replaces
``MODELS_DIR/<name>``. Test figures are printed for the record and play no part.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: gdl_studio


def _card(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _fmt(x) -> str:
    return f"{x:.4f}" if isinstance(x, (int, float)) else "–"


def main(runs: Path, models: Path, data: Path = Path("data/music.npz")) -> int:
    rows = []
    for card_path in sorted(runs.glob("*/music-*/card.json")):
        card = _card(card_path)
        if card is None:
            continue
        m = card.get("metrics", {})
        rows.append(
            {
                "run": card_path.parent.parent.name,
                "dir": card_path.parent,
                "name": card["name"],
                "valid_r1": m.get("valid_round1", {}).get("nats_per_note"),
                "valid": m.get("valid", {}).get("nats_per_note"),
                "test": m.get("test", {}).get("nats_per_note"),
                "infill": m.get("infill_valid", {}).get("infill_nats_per_note"),
                "l2r": m.get("infill_valid", {}).get("l2r_nats_per_note"),
                "mb": card.get("size_bytes", 0) / 1e6,
                "stop": m.get("stop_reason"),
                "epochs": m.get("epochs"),
            }
        )
    print(
        f"{'run':6} {'model':18} {'valid r1':>9} {'valid all':>9} {'infill v':>9} {'l2r v':>9} "
        f"{'test r1*':>9} {'MB':>6}  stop"
    )
    for r in rows:
        print(
            f"{r['run']:6} {r['name']:18} {_fmt(r['valid_r1']):>9} {_fmt(r['valid']):>9} {_fmt(r['infill']):>9} "
            f"{_fmt(r['l2r']):>9} {_fmt(r['test']):>9} {r['mb']:6.1f}  {r['stop']} ({r['epochs']} epochs)"
        )
    print("* test figures for the record only: selection uses validation pieces")
    status = 0
    ok = [
        r
        for r in rows
        if r["name"] == "music-transformer"
        and r["valid_r1"] is not None
        and r["infill"] is not None
        and r["l2r"] is not None
        and r["infill"] < r["l2r"]
        and r["mb"] <= 15.0
    ]
    if ok:
        best = min(ok, key=lambda r: r["valid_r1"])
        _install(best["dir"], models / "music-transformer")
        print(f"music-transformer: {best['run']} (valid round-1 {best['valid_r1']:.4f} nats/note)")
    else:
        print("music-transformer: no variant qualified; the installed model stays")
        status = 1
    lstm = [r for r in rows if r["name"] == "music-lstm" and r["valid"] is not None]
    if lstm:
        # the LSTM now serves every style: both are scored on the same validation pieces of all
        # styles (the installed card only has the round-1 ones), round-1 figures for the record
        new = min(lstm, key=lambda r: r["valid"])
        old_valid = _installed_lstm_valid(models, data)
        if old_valid is None or new["valid"] < old_valid:
            _install(new["dir"], models / "music-lstm")
            print(
                f"music-lstm: new ({new['valid']:.4f} < installed {_fmt(old_valid)} nats/note on the validation "
                f"pieces of all styles; round-1 styles {_fmt(new['valid_r1'])})"
            )
        else:
            print(
                f"music-lstm: installed one stays ({_fmt(old_valid)} ≤ new {new['valid']:.4f} on the validation "
                "pieces of all styles)"
            )
    return status


def _installed_lstm_valid(models: Path, data: Path) -> float | None:
    """The installed LSTM's nats/note on the corpus's validation pieces (all styles)."""
    try:
        import torch

        from gdl_studio.core.registry import Registry
        from gdl_studio.music.corpus import load_corpus
        from gdl_studio.music.evaluate import score_lstm
        from gdl_studio.music.models_io import load_music_model

        # the registry's loader: card, sha256 check, architecture and weights as the app loads them
        model = load_music_model("music-lstm", Registry([models])).model
        device = "cuda" if torch.cuda.is_available() else "cpu"
        pieces = load_corpus(data).split("valid")
        return float(score_lstm(model.to(device).eval(), pieces, device=device).summary()["nats_per_note"])
    except Exception as exc:  # a missing or unreadable model: the new one is installed
        print(f"installed music-lstm not scored ({type(exc).__name__}: {exc})")
        return None


def _install(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
