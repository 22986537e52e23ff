"""What the study writes for a reader: results tables, training curves, upsampling and
contact sheets."""
