"""Paths between two images: representation blends, warps and morphs, aligned blends, the
known-midpoint benchmark that scores them, and the similarity that chooses pairs."""
