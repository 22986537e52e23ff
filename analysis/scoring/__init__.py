"""Scores of a method's renders and their trivial references: PSNR, SSIM, flat error, path
metrics (with the degenerate paths they must rank low), dense tracking, inner-step curves."""
