"""A shared SIREN modulated per image by a spatial latent grid (Spatial Functa-style).

The hypernetwork of `models/hypernet.py` emits a whole SIREN per image from one vector: it
learns the training icons, not icons (unseen icons score below the mean icon). The INRs that
generalize emit *modulations of one shared base network* instead (Functa / COIN++, Dupont et
al. 2022: per-layer shifts from a latent), and read them from a *latent grid* at each
coordinate (Spatial Functa, Bauer et al. 2023). Here:

    z      = encoder(image * mask, mask)              (B, C, G, G)  the per-image representation
    m      = hyper(z)                                 (B, M, G, G)  per-cell modulations (linear)
    m(x)   = bilinear read of m at coordinate x       (B, P, M)   (or `read="ensemble"`: below)
    h_k    = sin(w0 * ((1 + a_k(x)) * (W_k h_{k-1} + b_k) + s_k(x)))  shared base W_k, b_k
    rgb(x) = W_out h_L + b_out

`modulation="shift"` uses the shifts s_k only (Functa), `"film"` adds the scales a_k. The
hypernetwork's last layer starts at zero, so at init every image gets m = 0: the method is
its base SIREN (with the SIREN init, Sitzmann et al. 2020 sec. 3.2) and a test checks it.
The map is linear, as in Functa, so blending two latents and blending their modulations are
the same path.

A Rep holds the grid (`latent`, B x C*G*G floats: what is stored, compared and blended) and
the modulation grids (`params`, {"modulations.k": (B, H or 2H, G, G)}: the per-image
"weights" of the shared base, which `decode` reads). Optional Meta-SGD steps (Li et al. 2017)
on the grid only, as functa adapts its latent and not the network: `encode(..., steps=k)`
takes k gradient steps on the observed pixels from the encoder's grid (k = 0: one pass).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from data.pixels import pixel_grid, to_pixels
from models.method import Method, Rep, rgb_from_output
from models.siren import Params, Siren, SirenConfig

MODULATIONS = ("shift", "film")
# How a coordinate reads the grid: "bilinear" blends the 4 nearest cells' modulations (one SIREN pass);
# "ensemble" runs the SIREN once with each of the 4 nearest cells' own modulations and blends the 4
# colours by the same bilinear (area) weights, after LIIF's local ensemble (Chen et al. 2021), though every
# pass reads the same absolute coordinate (LIIF also makes it relative to each cell): a cell's
# modulation is not mixed with its neighbours' inside the sine layers. It costs 4 SIREN passes.
READS = ("bilinear", "ensemble")


class GridEncoder(nn.Module):
    """(images, masks) -> latent grid (B, C, G, G) for any even input resolution >= 2G.

    The input [1 - image, 1] * mask is first folded 2 x 2 into channels (pixel unshuffle): a
    lossless halving that keeps every pixel while the convolutions run at a quarter of the
    positions (a full-resolution stem took most of a training step when measured on the CPU).
    Stride-2 convolutions go down towards G (an average pool makes the last step exact for any
    size), then residual 3x3 blocks at grid resolution let each cell see its neighbours (the
    receptive field spans several cells)."""

    def __init__(self, grid: int, channels: int, res: int, width: int = 32, blocks: int = 2):
        super().__init__()
        self.grid = grid
        downs = max(0, int(math.log2(res // 2 // grid)))  # 48 px: G=24 -> 0, 12 -> 1, 6 -> 2
        layers: list[nn.Module] = [nn.PixelUnshuffle(2), nn.Conv2d(16, width, 3, padding=1), nn.ReLU()]
        for _ in range(downs):
            # Kernel 4, padding 1: output cell i is centred between input cells 2i and 2i+1, the centre of
            # the input area it summarises, so cell i of G lies at ((i + 1/2) / G), where `_read`
            # (align_corners=False) reads it. A 3x3 stride-2 kernel centres on input cell 2i instead: a
            # quarter cell off after the 2x2 unshuffle at G = 12 (cell i at (4i+1)/48, read at (4i+2)/48).
            layers += [nn.Conv2d(width, width, 4, stride=2, padding=1), nn.ReLU()]
        self.down = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(width, width, 3, padding=1)) for _ in range(blocks))
        self.out = nn.Conv2d(width, channels, 1)
        for module in self.modules():  # He init for the ReLU stack (He et al. 2015)
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        for block in self.blocks:  # residual branches start small, so the stack starts near the identity
            block[-1].weight.data.mul_(0.1)

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        m = masks.to(images.dtype)  # (B, 1, H, W)
        x = torch.cat([(1 - images) * m, m], 1)  # (B, 4, H, W), white and unobserved = 0
        if x.shape[-1] % 2:
            x = nn.functional.pad(x, (0, 1, 0, 1))  # (B, 4, H+1, W+1): unshuffle needs an even size
        x = self.down(x.contiguous(memory_format=torch.channels_last))  # (B, W, h, h)
        if x.shape[-1] != self.grid:
            x = nn.functional.adaptive_avg_pool2d(x, self.grid)  # (B, W, G, G)
        for block in self.blocks:
            x = torch.relu(x + block(x))
        return self.out(x).contiguous()  # (B, C, G, G)


class ModulatedINR(Method):
    decodes_latent = True   # params_from_latent maps any grid (e.g. a blend) to modulations
    emits_weights = False   # a Rep holds modulation grids, not per-image SIREN weights
    adapts = True           # encode takes `steps`: gradient steps on the latent grid

    def __init__(self, siren_cfg: SirenConfig, res: int, grid: int = 24, channels: int = 4,
                 modulation: str = "shift", latent_steps: int = 0, latent_lr: float = 1e3, latent_pixels: int = 256,
                 width: int = 32, read: str = "bilinear"):
        super().__init__()
        if modulation not in MODULATIONS:
            raise ValueError(f"unknown modulation {modulation!r}: use {' or '.join(MODULATIONS)}")
        if read not in READS:
            raise ValueError(f"unknown read {read!r}: use {' or '.join(READS)}")
        if siren_cfg.activation != "sine" or siren_cfg.encoding != "none":
            raise ValueError("the modulated method modulates a SIREN: use --activation sine --encoding none")
        self.siren = Siren(siren_cfg)  # the shared base, SIREN init
        self.res, self.grid, self.channels, self.modulation, self.read = res, grid, channels, modulation, read
        self.hidden_count = siren_cfg.hidden_layers + 1  # sine layers, each modulated
        per_layer = siren_cfg.hidden * (2 if modulation == "film" else 1)
        self.sizes = [per_layer] * self.hidden_count
        self.encoder = GridEncoder(grid, channels, res, width)
        # Linear, as Functa's latent-to-modulation map: bilinear reading commutes with it, so the
        # decoder reads the C-channel grid and maps per pixel (16x less to interpolate than the
        # modulations, whose grid_sample backward dominated a step when measured), and a latent
        # blend is exactly a modulation blend.
        self.hyper = nn.Linear(channels, sum(self.sizes))
        nn.init.zeros_(self.hyper.weight)  # m = 0 at init: every image starts as the base SIREN
        nn.init.zeros_(self.hyper.bias)
        self.latent_steps, self.latent_pixels = latent_steps, latent_pixels
        # Meta-SGD: one learned rate per latent entry, stored as a log so it stays positive.
        self.log_rate = nn.Parameter(torch.full((channels, grid, grid), math.log(latent_lr)))

    def shared_base(self) -> list[nn.Parameter]:
        return list(self.siren.parameters())

    @property
    def floats_per_image(self) -> int:
        """What a Rep stores per image: the latent grid."""
        return self.channels * self.grid * self.grid

    def encode(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor | None = None,
               steps: int | None = None) -> Rep:
        """images (B, 3, H, W) in [0, 1]; masks (B, 1, H, W) bool -> Rep(latent (B, C*G*G), params)."""
        latent = self._latent(images, masks, steps)  # (B, C*G*G)
        return Rep(latent=latent, params=self.params_from_latent(latent))

    def forward(self, images, masks, index, coords):
        """The training forward: decode reads the latent, so the per-cell modulation grids that
        `encode` adds for blending and similarity are not built on the hot path."""
        return self.decode(Rep(latent=self._latent(images, masks, None)), coords), self.penalty(Rep())

    def _latent(self, images: torch.Tensor, masks: torch.Tensor, steps: int | None) -> torch.Tensor:
        """The encoder's grid, after `steps` Meta-SGD steps (default `latent_steps`): (B, C*G*G)."""
        z = self.encoder(images, masks)  # (B, C, G, G)
        steps = self.steps_to_take(self.latent_steps, steps)
        if steps:
            z = self._refine(z, images, masks.bool(), steps)
        return z.flatten(1)

    def params_from_latent(self, latent: torch.Tensor) -> Params:
        """Per-cell modulations {"modulations.k": (B, H or 2H, G, G)} of a latent (B, C*G*G)."""
        z = latent.view(len(latent), self.channels, self.grid, self.grid)  # (B, C, G, G)
        mods = (z.movedim(1, -1) @ self.hyper.weight.T + self.hyper.bias).movedim(-1, 1)  # (B, M, G, G)
        return {f"modulations.{k}": m for k, m in enumerate(mods.split(self.sizes, dim=1))}

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        """coords (P, 2) or (B, P, 2) in [-1, 1] -> rgb (B, P, 3) in [0, 1] space. Reads the latent
        grid when the Rep has one, else the modulation grids (a blend of weights): the same
        function, as the map from latent to modulations is linear."""
        b = len(rep)
        coords = coords.expand(b, -1, -1) if coords.dim() == 2 else coords  # (B, P, 2)
        if rep.latent is not None:
            grid, linear = rep.latent.view(b, self.channels, self.grid, self.grid), self.hyper  # (B, C, G, G)
        else:
            grid = torch.cat([rep.params[f"modulations.{k}"] for k in range(self.hidden_count)], 1)  # (B, M, G, G)
            linear = nn.Identity()
        if self.read == "bilinear":
            return self._siren(linear(_read(grid, coords)), coords)  # (B, P, 3)
        cells, weights = _corners(grid, coords)  # (B, 4P, K), (B, 4, P)
        rgb = self._siren(linear(cells), coords.repeat(1, 4, 1))  # (B, 4P, 3)
        return (rgb.view(b, 4, -1, 3) * weights[..., None]).sum(1)  # (B, P, 3)

    def _siren(self, mods: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """The shared base at coords (B, P, 2), each point modulated by its row of mods (B, P, M) -> rgb (B, P, 3)."""
        b = len(coords)
        w0, x = self.siren.cfg.w0, coords
        for k, mod in enumerate(mods.split(self.sizes, dim=-1)):  # (B, P, H or 2H) per sine layer
            layer = self.siren.layers[k]
            if self.modulation == "film":
                scale, mod = mod.chunk(2, dim=-1)  # (B, P, H) each
                h = x @ layer.weight.mT + layer.bias  # (B, P, H)
                x = torch.sin(w0 * (h + scale * h + mod))
            else:
                # sin(w0 (W x + b + s)) with w0 folded into the small W and b, and the matmul added onto
                # the shift in one baddbmm: no (B, P, H) temporaries for the sum and the scaling.
                weight = (w0 * layer.weight.mT).expand(b, -1, -1)  # (B, in, H), a view
                x = torch.sin(torch.baddbmm(w0 * (mod + layer.bias), x, weight))  # (B, P, H)
        last = self.siren.layers[-1]
        return rgb_from_output(x @ last.weight.mT + last.bias)  # (B, P, 3)

    def _refine(self, z: torch.Tensor, images: torch.Tensor, masks: torch.Tensor, steps: int) -> torch.Tensor:
        """`steps` Meta-SGD steps on each image's grid, on its observed pixels. The loss is a sum
        over images of each image's mean squared error, so image b's step depends on image b only
        (batched = per image). In training the steps are first order and read `latent_pixels`
        random observed pixels per image (as COIN++'s inner loop, but without its second-order
        term): the outer gradient still reaches the encoder (through z) and the learned rates
        (through rate * grad), while a step costs one decode of a few pixels, not a second-order
        pass over all of them. Evaluation (no_grad or eval mode) steps on every observed pixel."""
        training = torch.is_grad_enabled() and self.training
        coords = pixel_grid(images.shape[-1], images.device).expand(len(z), -1, -1)  # (B, P, 2)
        target = to_pixels(images)  # (B, P, 3)
        weight = to_pixels(masks.to(images.dtype))  # (B, P, 1)
        if training and self.latent_pixels:
            # latent_pixels observed pixels per image, drawn afresh each step from the run's generator
            score = torch.rand(weight.shape[:2], generator=self.generator, device=z.device)  # (B, P)
            pick = (score + weight[..., 0]).topk(min(self.latent_pixels, weight.shape[1]), dim=1).indices  # (B, S)
            coords, target, weight = (t.gather(1, pick[..., None].expand(-1, -1, t.shape[-1]))
                                      for t in (coords, target, weight))  # (B, S, 2), (B, S, 3), (B, S, 1)
        count = weight.sum((1, 2)).clamp_min(1)  # (B,)
        rate = self.log_rate.exp()  # (C, G, G)
        with torch.enable_grad():
            for _ in range(steps):
                inner = z.detach().requires_grad_()
                pred = self.decode(Rep(latent=inner.flatten(1)), coords)  # (B, S, 3)
                loss = ((pred - target).pow(2) * weight).sum((1, 2)).div(count).sum()
                grad, = torch.autograd.grad(loss, inner)  # (B, C, G, G), a constant to the outer loss
                z = z - rate * grad  # (B, C, G, G)
        return z if training else z.detach()


def _read(grid: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear read of grid (B, K, G, G) at coords (B, P, 2) in [-1, 1] -> (B, P, K); cell
    centres sit where pixel centres of a G px image would (align_corners=False)."""
    return nn.functional.grid_sample(grid, coords[:, :, None], mode="bilinear", padding_mode="border",
                                     align_corners=False)[..., 0].mT


def _corners(grid: torch.Tensor, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 4 cells around each coordinate and their bilinear weights: grid (B, K, G, G), coords
    (B, P, 2) in [-1, 1] -> cells (B, 4P, K) (corner-major: the P points of corner 0, then corner 1...)
    and weights (B, 4, P) summing to 1 over the corners. Cell centres and the border as `_read`, so
    that blending the cells by the weights is exactly `_read`."""
    b, k, g, _ = grid.shape
    pos = ((coords + 1) * g / 2 - 0.5).clamp(0, g - 1)  # (B, P, 2) in cell units, x then y
    low = pos.floor().clamp_max(max(g - 2, 0))  # (B, P, 2): the lower corner, so that low + 1 stays a cell
    frac = (pos - low).clamp(0, 1)  # (B, P, 2)
    low = low.long()
    high = (low + 1).clamp_max(g - 1)  # (B, P, 2)
    flat = grid.flatten(2).mT  # (B, G*G, K)
    cells, weights = [], []
    for ys, wy in ((low[..., 1], 1 - frac[..., 1]), (high[..., 1], frac[..., 1])):
        for xs, wx in ((low[..., 0], 1 - frac[..., 0]), (high[..., 0], frac[..., 0])):
            index = (ys * g + xs)[..., None].expand(-1, -1, k)  # (B, P, K)
            cells.append(flat.gather(1, index))  # (B, P, K)
            weights.append(wy * wx)  # (B, P)
    return torch.cat(cells, 1), torch.stack(weights, 1)  # (B, 4P, K), (B, 4, P)
