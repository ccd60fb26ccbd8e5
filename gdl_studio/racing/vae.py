"""V: the convolutional VAE of Ha & Schmidhuber (2018) for 64×64 RGB frames, z = 32.

Encoder: four 4×4 stride-2 convolutions (32, 64, 128, 256 channels, ReLU) → 2×2×256 → μ and
log σ² of a 32-d diagonal Gaussian. Decoder: a dense layer to 1024 units seen as 1×1×1024, then
four stride-2 transposed convolutions (128@5, 64@5, 32@6, 3@6; ReLU, sigmoid last) → 64×64×3.
Loss: summed squared error per image plus the KL term floored at ``kl_tolerance × z`` (the
paper's "KL floor", 0.5 × 32 = 16 nats), averaged over the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class VAEConfig:
    """Hyper-parameters needed to rebuild a :class:`ConvVAE`."""

    z_size: int = 32
    kl_tolerance: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


class ConvVAE(nn.Module):
    """The World Models ConvVAE (input and output: float images (N, 3, 64, 64) in [0, 1])."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config or VAEConfig()
        z = self.config.z_size
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 32, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 128, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(128, 256, 4, stride=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.fc_mu = nn.Linear(1024, z)
        self.fc_logvar = nn.Linear(1024, z)
        self.fc_dec = nn.Linear(z, 1024)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(1024, 128, 5, stride=2),
            nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 5, stride=2),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 6, stride=2),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 3, 6, stride=2),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images → (μ, log σ²), each (N, z)."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Latents → pre-sigmoid images (N, 3, 64, 64)."""
        h = self.fc_dec(z).view(-1, 1024, 1, 1)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (N, z) → images (N, 3, 64, 64) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor, sample: bool = True):
        """Returns (reconstruction, μ, log σ²); samples z with the reparameterisation trick."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return self.decode(z), mu, logvar

    def loss(self, x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
        """(total, reconstruction, KL) batch means; the KL term per image is floored."""
        rec = (recon.float() - x.float()).pow(2).flatten(1).sum(1)
        kl = -0.5 * (1 + logvar.float() - mu.float().pow(2) - logvar.float().exp()).sum(1)
        floor = self.config.kl_tolerance * self.config.z_size
        total = rec + torch.clamp(kl, min=floor)
        return total.mean(), rec.mean(), kl.mean()


class FastDecoder(nn.Module):
    """Inference-only decoder: ``fc_dec`` and the first transposed convolution fused.

    The paper's decoder applies no non-linearity between the dense layer and the first
    transposed convolution, which sees a 1×1 input; both are linear maps, so they collapse into
    one 32 → 3200 matrix (0.4 MB instead of 13 MB of weights read per frame). Same outputs as
    :meth:`ConvVAE.decode` up to float rounding.
    """

    weight: torch.Tensor  # buffers (register_buffer)
    bias: torch.Tensor

    def __init__(self, vae: ConvVAE) -> None:
        super().__init__()
        with torch.no_grad():
            first = vae.decoder[0]
            assert isinstance(first, nn.ConvTranspose2d) and first.bias is not None
            wt = first.weight.reshape(first.in_channels, -1)  # (1024, 128*5*5)
            k = first.kernel_size[0] * first.kernel_size[1]
            self.register_buffer("weight", (vae.fc_dec.weight.t() @ wt).contiguous())
            self.register_buffer("bias", vae.fc_dec.bias @ wt + first.bias.repeat_interleave(k))
        self.shape = (first.out_channels, first.kernel_size[0], first.kernel_size[1])
        self.rest = vae.decoder[1:]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.addmm(self.bias, z, self.weight).view(-1, *self.shape)
        return torch.sigmoid(self.rest(h))


def vae_loss_from_logits(model: ConvVAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward pass and loss in one, numerically safe under autocast (sigmoid in float32)."""
    mu, logvar = model.encode(x)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar.float()).to(mu.dtype)
    recon = torch.sigmoid(model.decode_logits(z).float())
    return model.loss(x, recon, mu, logvar)


def param_count(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


__all__ = ["ConvVAE", "FastDecoder", "VAEConfig", "vae_loss_from_logits", "param_count"]
