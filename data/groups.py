"""Groups of near-duplicate icons, and the split of the icons that keeps each group on one side.

Fluent UI emoji come in families that are one drawing in several versions: mirrors
(``person_running_facing_right`` is ``person_running`` flipped), rotations
(``red_triangle_pointed_down``, ``downwards_button``, the clock faces), gender siblings
(``man_farmer``, ``woman_farmer``, ``farmer``), colour variants (``red_heart``, ``blue_heart``)
and one-detail edits (``woman_beard`` vs ``woman``, ``speaker_low_volume`` vs
``speaker_medium_volume``). A test icon with such a twin in training is not unseen. Two icons
are linked when

* (pixels) their 48 px renders reach ``PSNR_THRESHOLD_DB`` or more under one of
  the eight symmetries of the square (identity, three rotations, four reflections; these
  include the horizontal flip), or
* (names) ``name_key`` maps their names to the same key (see there);

a group is a connected component of these links (union-find), so links chain.

Why 25 dB. Measured with ``python -m data.groups`` on the 1,595 shipped icons at 48 px, each
pair at its best symmetry:

* Nearest-neighbour PSNR of each icon: median 15.6 dB; 1,360 icons below 22 dB, 53 in
  22-25, 63 in 25-30 (mostly gender siblings, which the names link anyway), 27 in 30-40,
  92 at 40 dB or more (mirrors, rotations, recolours; 4 have a pixel-identical twin, e.g.
  ``cat_face``/``grinning_cat``). There is no gap to cut at: the tail thins out smoothly.
* So the threshold is set by looking at the pairs that the names do not link. Every one at
  25 dB or more is one drawing mirrored, rotated, recoloured or with one detail changed:
  the clock faces (41-56 dB), ``full_moon``/``yellow_circle`` (35.7),
  ``dotted_six_pointed_star``/``star_of_david`` (33.4), ``woman_beard``/``woman`` (28.1),
  ``keycap_6``/``keycap_9`` (28.1, rotated), ``down_arrow``/``right_arrow`` (28.0, rotated),
  ``speaker_low_volume``/``speaker_medium_volume`` (27.4), ``cat_face``/
  ``grinning_cat_with_smiling_eyes`` (27.0), ``man_red_hair``/``man`` (26.1),
  ``neutral_face``/``slightly_smiling_face`` (25.5), ``astonished_face``/``hushed_face`` (25.4).
* Just below 25 dB the first pairs of different objects appear: ``coin``/``full_moon`` (24.1),
  ``latin_cross``/``orthodox_cross`` (24.0), ``raised_back_of_hand``/``rightwards_hand``
  (24.0), then ``red_envelope``/``red_square`` (23.2), ``ewe``/``ram`` (22.8); mixed with
  them, a few more one-detail variants stay unlinked (``cat_with_wry_smile``/``pouting_cat``
  24.7, ``anguished_face``/``hushed_face`` 24.3). 25 dB is thus the lowest round level that
  links no two different objects. 30 dB, the level at which the leak was first reported,
  would let ``woman_beard``/``woman``, ``keycap_6``/``keycap_9`` and the rotated arrows
  cross the split.
* The split is not fragile in this range: 1,300 groups at 22 dB, 1,322 at 25, 1,332 at
  30, largest group 21, 18, 12 icons (the plain-person busts with their hair and beard
  variants).

Exact arithmetic: pixels are integers 0..255 and a squared distance of two 48 px RGB images
is below 2**53, so the float64 matrix products in ``max_psnr`` are exact whatever the BLAS
summation order; the groups, and hence the split, do not depend on the machine.
"""

from __future__ import annotations

import numpy as np

PSNR_THRESHOLD_DB = 25.0
N_ICONS100, TEST_FRACTION = 100, 0.1
GROUP_RES = 48
# Words removed by name_key. Gender/age-group siblings of one emoji differ only by these.
GENDER_WORDS = frozenset({"man", "woman", "person", "men", "women", "people", "boy", "girl", "child"})
# Colour words (a colour variant differs only by one, optionally after "light"/"dark").
COLOUR_WORDS = frozenset({"red", "orange", "yellow", "green", "blue", "purple", "brown", "black",
                          "white", "pink", "grey", "gray", "blond", "blonde"})
SIDE_WORDS = {"left": "<side>", "right": "<side>", "leftwards": "<side>wards", "rightwards": "<side>wards"}


def name_key(name: str) -> str:
    """Key shared by the name variants of one emoji; icons with equal keys are one group.

    Rules, applied to the ``_``-separated words of a shipped name:

    * a trailing ``default`` (the skin-tone base) is dropped;
    * ``facing_left``/``facing_right`` is dropped (``person_running_facing_right`` is the
      mirror of ``person_running``);
    * ``left``/``right`` (and ``leftwards``/``rightwards``) become one side word, so
      ``left_arrow``/``right_arrow`` and ``left_facing_fist``/``right_facing_fist`` pair up;
    * gender and age-group words (``GENDER_WORDS``) are dropped, so ``man_farmer``,
      ``woman_farmer`` and ``farmer`` share a key, as do ``man``, ``woman``, ``person``,
      ``boy``, ``girl`` and ``child``; ``older`` is read as ``old`` (``older_person`` vs
      ``old_man``);
    * colour words (``COLOUR_WORDS``, with a preceding ``light``/``dark``) are dropped, so
      ``red_heart``/``light_blue_heart``, ``red_circle``/``blue_circle`` and
      ``black_large_square``/``white_large_square`` pair up. ``light`` alone is kept
      (``police_car_light``, ``light_bulb``).

    This over-groups a little on purpose (``red_envelope`` joins ``envelope``,
    ``brown_mushroom`` joins ``mushroom``): a group too many in training costs a test slot,
    a twin across the split costs the meaning of the test score.
    """
    words = name.split("_")
    if words[-1] == "default":
        words = words[:-1]
    out, i = [], 0
    while i < len(words):
        word, nxt = words[i], words[i + 1] if i + 1 < len(words) else None
        if (word == "facing" and nxt in ("left", "right")) or (word in ("light", "dark") and nxt in COLOUR_WORDS):
            i += 2
            continue
        if word not in GENDER_WORDS and word not in COLOUR_WORDS:
            out.append("old" if word == "older" else SIDE_WORDS.get(word, word))
        i += 1
    return "_".join(out) or "<person>"


def symmetries(images: np.ndarray) -> list[np.ndarray]:
    """The eight symmetries of the square of (N, H, W, C) images: 4 rotations, each +/- mirrored."""
    rotations = [np.rot90(images, k, axes=(1, 2)) for k in range(4)]
    return rotations + [r[:, :, ::-1] for r in rotations]


def max_psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(Na, Nb) PSNR in dB of uint8 (N, H, W, C) images, each pair at its best symmetry of ``b``.

    Computed from exact integer squared distances (see the module docstring); identical
    images give ``inf``.
    """
    flat_a = a.reshape(len(a), -1).astype(np.float64)
    size = flat_a.shape[1]
    norm_a = (flat_a * flat_a).sum(1)[:, None]
    ssd = None
    for sym in symmetries(b):
        flat_b = np.ascontiguousarray(sym).reshape(len(b), -1).astype(np.float64)
        d = norm_a + (flat_b * flat_b).sum(1)[None] - 2.0 * (flat_a @ flat_b.T)
        ssd = d if ssd is None else np.minimum(ssd, d)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0 ** 2 * size / ssd)


class _UnionFind:
    """Disjoint sets over 0..n-1; each set is represented by its smallest member."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        x, y = self.find(x), self.find(y)
        if x != y:
            self.parent[max(x, y)] = min(x, y)


def group_ids(names: list[str], images: np.ndarray, threshold_db: float = PSNR_THRESHOLD_DB) -> list[int]:
    """Group of each icon: the index of the first icon of its group (in the given order).

    names: N icon names; images: (N, GROUP_RES, GROUP_RES, 3) uint8 renders in the same order.
    Links: ``max_psnr >= threshold_db`` or equal ``name_key``; groups are their components.
    """
    if images.shape[:3] != (len(names), GROUP_RES, GROUP_RES):
        raise ValueError(f"expected {len(names)} images at {GROUP_RES} px, got {images.shape}")
    return components(names, max_psnr(images, images), threshold_db)


def components(names: list[str], psnr: np.ndarray, threshold_db: float) -> list[int]:
    """``group_ids`` from a precomputed (N, N) ``max_psnr`` matrix (its diagonal is ignored)."""
    sets = _UnionFind(len(names))
    first_of_key: dict[str, int] = {}
    for i, name in enumerate(names):
        sets.union(i, first_of_key.setdefault(name_key(name), i))
    for i, j in zip(*np.nonzero(np.triu(psnr >= threshold_db, k=1))):
        sets.union(int(i), int(j))
    return [sets.find(i) for i in range(len(names))]


def select(names: list[str], groups: list[int]) -> tuple[list[str], list[str], list[str]]:
    """Split sorted usable names into sorted (icons100, train, test); ``groups[i]``: names[i]'s group.

    icons100 is drawn exactly as before groups existed, so it and its images stay the same.
    The rest is walked in the order of the seeded permutation that used to pick the test split
    directly, so test keeps most of the old test icons (125 of 150). Each group is decided
    once, when the walk reaches its first member by name: all its members go to test if none
    is in icons100 and they fit in the test quota, otherwise all go to train. Deciding at one
    member, not at whichever member comes first, keeps big groups from being favoured: that
    variant put 59 of the 150 test icons in groups of two or more, against 37 this way, while
    such groups hold 20% of the icons that could be drawn (about 29 expected).
    """
    if names != sorted(names) or len(groups) != len(names):
        raise ValueError("select needs sorted names and one group id per name")
    pick = np.random.default_rng(0).choice(len(names), N_ICONS100, replace=False)
    icons100 = sorted(names[i] for i in pick)
    in_icons100 = set(pick.tolist())
    rest = [i for i in range(len(names)) if i not in in_icons100]
    quota = round(TEST_FRACTION * len(rest))
    members: dict[int, list[str]] = {}
    for i in rest:
        members.setdefault(groups[i], []).append(names[i])  # in name order: members[g][0] decides g
    touched = {groups[i] for i in in_icons100}
    test: list[str] = []
    for k in np.random.default_rng(1).permutation(len(rest)).tolist():
        name, group = names[rest[k]], groups[rest[k]]
        if name == members[group][0] and group not in touched and len(test) + len(members[group]) <= quota:
            test += members[group]
    chosen = set(test)
    return icons100, [names[i] for i in rest if names[i] not in chosen], sorted(test)


def shipped_icons() -> tuple[list[str], np.ndarray]:
    """All shipped icons (icons100 + icons-large train + test) at GROUP_RES px, sorted by name."""
    from pathlib import Path

    from PIL import Image

    from data.icons_large import load_icons_large_arrays

    folder = Path(__file__).resolve().parent / "icons100"
    names = (folder / "names.txt").read_text(encoding="utf-8").split()
    images = [np.asarray(Image.open(folder / str(GROUP_RES) / f"{n}.png").convert("RGB")) for n in names]
    for split in ("train", "test"):
        arrays, split_names = load_icons_large_arrays(split, GROUP_RES)
        names, images = names + split_names, images + list(arrays)
    order = sorted(range(len(names)), key=names.__getitem__)
    return [names[i] for i in order], np.stack([images[i] for i in order])


def main() -> None:
    """``python -m data.groups``: print the measurements behind PSNR_THRESHOLD_DB (about 30 s)."""
    names, images = shipped_icons()
    psnr = max_psnr(images, images)
    np.fill_diagonal(psnr, -np.inf)
    nearest = psnr.max(1)
    print(f"{len(names)} icons at {GROUP_RES} px, best of 8 symmetries; nearest-neighbour PSNR: "
          f"median {np.median(nearest):.1f} dB")
    edges = [0, 16, 20, 22, 24, 25, 26, 28, 30, 35, 40, 50, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:]):
        count = int(((nearest >= lo) & (nearest < hi)).sum() + (np.isinf(nearest).sum() if hi == np.inf else 0))
        print(f"  {lo:>4g}-{hi:<4g} dB: {count:5d} {'#' * ((count + 9) // 10)}")
    keys = [name_key(n) for n in names]
    low = PSNR_THRESHOLD_DB - 1.5
    i, j = np.nonzero(np.triu(psnr >= low, k=1))
    pairs = sorted(((psnr[a, b], names[a], names[b]) for a, b in zip(i, j) if keys[a] != keys[b]), reverse=True)
    print(f"pairs at >= {low:g} dB whose names do not link them ({len(pairs)}):")
    for value, a, b in pairs:
        print(f"  {value:6.1f}  {a} / {b}")
    for threshold in (22, 24, PSNR_THRESHOLD_DB, 28, 30):
        sizes = np.bincount(components(names, psnr, threshold))
        sizes = np.sort(sizes[sizes > 0])[::-1]
        print(f"threshold {threshold:g} dB: {len(sizes)} groups, {int((sizes > 1).sum())} of two or more "
              f"holding {int(sizes[sizes > 1].sum())} icons, largest {sizes[:5].tolist()}")


if __name__ == "__main__":
    main()
