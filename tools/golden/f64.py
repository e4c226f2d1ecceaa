"""Make transformers' Llama/Qwen2/Mistral really compute in float64.

Stock transformers 4.57 computes three things in float32 whatever the model dtype:
  * RMSNorm (`hidden_states.to(torch.float32)` ... `.to(input_dtype)`),
  * the eager attention softmax (`softmax(..., dtype=torch.float32)`),
  * RoPE: inv_freq is built from a float32 arange, and cos/sin are computed in float32.
So `model.double()` alone gives float32-level rounding (~1e-7 relative) at every norm, softmax and
rotation, which is enough to spoil finite-difference gradient checks. For float64 models only, this
module (1) patches the RMSNorm and rotary-embedding forwards to stay in float64, (2) recomputes
inv_freq in float64 (default and llama3 rope types; checked against HF's float32 values), and the
goldens use attn_implementation="sdpa" (torch SDPA computes in the input dtype). The math is unchanged;
float32 / bf16 / f16 models are untouched. GPT-2 needs nothing (its float64 path is pure float64).
"""

from __future__ import annotations

import math

import torch
from transformers.models.llama import modeling_llama
from transformers.models.mistral import modeling_mistral
from transformers.models.qwen2 import modeling_qwen2

ATTN_F64 = "sdpa"
_MODULES = [
    (modeling_llama.LlamaRMSNorm, modeling_llama.LlamaRotaryEmbedding),
    (modeling_qwen2.Qwen2RMSNorm, modeling_qwen2.Qwen2RotaryEmbedding),
    (modeling_mistral.MistralRMSNorm, modeling_mistral.MistralRotaryEmbedding),
]
ROTARY_CLASSES = tuple(r for _, r in _MODULES)
_ORIGINAL = {cls: cls.forward for pair in _MODULES for cls in pair}
_patched = False


def disable():
    """Restore stock transformers behaviour (used by check_golden.py to measure the difference)."""
    global _patched
    for cls, fwd in _ORIGINAL.items():
        cls.forward = fwd
    _patched = False


def enable():
    global _patched
    if _patched:
        return
    _patched = True
    for norm_cls, rot_cls in _MODULES:
        orig_norm = _ORIGINAL[norm_cls]
        orig_rot = _ORIGINAL[rot_cls]

        def norm_forward(self, hidden_states, _orig=orig_norm):
            if hidden_states.dtype != torch.float64:
                return _orig(self, hidden_states)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))

        @torch.no_grad()
        def rot_forward(self, x, position_ids, _orig=orig_rot):
            if x.dtype != torch.float64 or self.inv_freq.dtype != torch.float64:
                return _orig(self, x, position_ids)
            assert self.rope_type in ("default", "llama3"), self.rope_type
            inv = self.inv_freq[None, :, None].expand(position_ids.shape[0], -1, 1).to(x.device)
            pos = position_ids[:, None, :].to(torch.float64)
            freqs = (inv @ pos).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
            return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling

        norm_cls.forward = norm_forward
        rot_cls.forward = rot_forward


def inv_freq_f64(config) -> torch.Tensor:
    """RoPE inverse frequencies in float64 (default and llama3 rope types, as in transformers)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    inv = 1.0 / (config.rope_theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = getattr(config, "rope_scaling", None) or {}
    rope_type = rs.get("rope_type", rs.get("type", "default"))
    if rope_type == "default":
        return inv
    assert rope_type == "llama3", rope_type
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    lo_wl, hi_wl = old / lo, old / hi
    out = []
    for f in inv.tolist():
        wl = 2 * math.pi / f
        if wl < hi_wl:
            out.append(f)
        elif wl > lo_wl:
            out.append(f / factor)
        else:
            s = (old / wl - lo) / (hi - lo)
            out.append((1 - s) * f / factor + s * f)
    return torch.tensor(out, dtype=torch.float64)


def make_f64(model):
    """model.to(float64) plus float64 RoPE frequencies (verified against HF's float32 ones)."""
    enable()
    model = model.to(torch.float64)
    for mod in model.modules():
        if isinstance(mod, ROTARY_CLASSES):
            exact = inv_freq_f64(mod.config)
            rel = float(((mod.inv_freq - exact) / exact).abs().max())
            assert rel < 1e-6, f"inv_freq mismatch vs transformers: {rel}"
            mod.inv_freq = exact
            mod.original_inv_freq = exact
    return model
