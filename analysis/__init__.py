"""Everything that reads a trained method, split by what it serves.

    figures.py, endpoints.py   drawing primitives and "which images a script works on",
    residual.py                the input's residual put back into renders (back-projection),
                               shared by the three subpackages below
    scoring/                   numbers: PSNR, SSIM, flat error, the trivial references,
                               path metrics, dense tracking (question 1, 2a)
    interpolation/             paths between two images: blends, warps, morphs, aligned blends,
                               the known-midpoint benchmark, similarity and pair choice (2b, 3)
    reporting/                 the study's tables, curves and sheets

Imports flow one way: the shared modules <- scoring <- interpolation <- reporting
(tests/test_layers.py checks it).
"""
