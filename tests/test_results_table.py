"""study.results_table: the unseen held-out column and the trivial references' rows, in the
Markdown table and in results.json, each reference only in the columns it is scored on."""
from __future__ import annotations

import study


def test_results_table_has_the_unseen_heldout_column_and_reference_rows():
    refs = {"reference/mean_icon_train_pixels": 12.3, "reference/mean_icon_heldout_pixels": 12.2,
            "reference/mean_icon_unseen": 11.5, "reference/mean_icon_unseen_heldout": 11.6,
            "reference/neighbours_heldout_pixels": 23.6, "reference/neighbours_unseen_heldout": 22.4,
            "reference/lanczos_256": 26.4, "reference/bicubic_256": 26.2,
            "reference/unseen_lanczos_256": 25.2, "reference/unseen_bicubic_256": 24.9}
    common = {"parameters": 10, "train_seconds": 1.0, "step": 3, "psnr/train_pixels": 30.0,
              "psnr/heldout_pixels": 25.0, "psnr/upsample_256": 24.0, **refs}
    train = {"hyper": {**common, "psnr/unseen_images": 20.0, "psnr/unseen_heldout_pixels": 19.5,
                       "psnr/unseen_upsample_256": 18.0},
             "hyper_table": common}  # no unseen scores: a code table
    table, summary = study.results_table(train, {})
    lines = table.splitlines()
    assert "unseen held-out px dB" in lines[0]
    assert "| hyper | 10 | 1 | 3 | 30.00 | 25.00 | 20.00 | 19.50 | 24.00 | 18.00 |" in lines
    assert "| hyper_table | 10 | 1 | 3 | 30.00 | 25.00 | n/a | n/a | 24.00 | n/a |" in lines
    assert "| mean icon (reference) | | | | 12.30 | 12.20 | 11.50 | 11.60 |  |  |" in lines
    assert "| neighbour interpolation (reference) | | | |  | 23.60 |  | 22.40 |  |  |" in lines
    assert "| Lanczos (reference) | | | |  |  |  |  | 26.40 | 25.20 |" in lines
    assert "| bicubic (reference) | | | |  |  |  |  | 26.20 | 24.90 |" in lines
    assert summary["references"]["neighbours"] == {"heldout_pixels": 23.6, "unseen_heldout_pixels": 22.4}
    assert summary["references"]["bicubic"] == {"upsample": 26.2, "unseen_upsample": 24.9}
    assert summary["methods"]["hyper"]["unseen_heldout_pixels"] == 19.5


def test_the_upsampling_table_has_psnr_ssim_and_flat_error_with_lanczos_and_bicubic():
    refs = {f"reference/{where}{ref}_256{suffix}": value for where in ("", "unseen_")
            for ref, value in (("lanczos", 1.0), ("bicubic", 2.0))
            for suffix in ("", "_ssim", "_flat_rmse")}
    scores = {f"{metric}/{where}upsample_256": value for where in ("", "unseen_")
              for metric, value in (("psnr", 28.0), ("ssim", 0.9), ("flat_rmse", 0.5))}
    common = {"parameters": 10, "train_seconds": 1.0, "step": 3, **refs}
    train = {"local": {**common, **scores}, "hyper_table": {**common, "psnr/upsample_256": 24.0}}
    table, summary = study.results_table(train, {})
    lines = table.splitlines()
    assert "| local | 28.00 | 0.900 | 0.50 | 28.00 | 0.900 | 0.50 |" in lines
    assert "| hyper_table | 24.00 | n/a | n/a | n/a | n/a | n/a |" in lines
    assert "| lanczos (reference) | 1.00 | 1.000 | 1.00 | 1.00 | 1.000 | 1.00 |" in lines
    assert summary["upsampling"]["bicubic (reference)"]["unseen_flat_rmse"] == 2.0
