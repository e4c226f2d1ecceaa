#!/usr/bin/env python3
"""Load the committed fixtures back and cross-check them (run after make_golden.py).

Independent checks: logits recomputed from the files on disk, adapters reloaded through
PeftModel.from_pretrained, IA3/LoRA re-implemented by hand (hooks / merged weights), finite-difference
gradient checks, hand-written SGD/AdamW/Adafactor updates, the raw `tokenizers` library vs AutoTokenizer,
and batched left-padded HF generation vs the per-prompt greedy goldens.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
os.chdir(ROOT)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
torch.set_num_threads(1)

import transformers  # noqa: E402
from peft import PeftModel  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

transformers.logging.set_verbosity_error()
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import f64  # noqa: E402

FIX = Path("test/fixtures")
MODELS = FIX / "models"
GOLDEN = FIX / "golden"
GRAD = GOLDEN / "grad"
IGNORE = -100
NAMES = ["tiny-llama", "tiny-llama3", "tiny-qwen2", "tiny-mistral", "tiny-mistral-window", "tiny-llama-bias", "tiny-gpt2", "tiny-llama-bf16",
         "tiny-llama-f16-sharded"]
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def load(path):
    m = AutoModelForCausalLM.from_pretrained(str(path), attn_implementation=f64.ATTN_F64, dtype=torch.float32)
    return f64.make_f64(m).eval()


def load_peft(model_name, adapter_dir):
    base = AutoModelForCausalLM.from_pretrained(str(MODELS / model_name), attn_implementation=f64.ATTN_F64,
                                                dtype=torch.float32)
    return f64.make_f64(PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)).eval()


def lm_loss(logits, labels):
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                                             ignore_index=IGNORE)


def batch_of(d):
    b = json.loads((d / "batch.json").read_text())
    return torch.tensor(b["input_ids"]), torch.tensor(b["attention_mask"]), torch.tensor(b["labels"])


def stored_dtypes(model_dir: Path):
    out = set()
    for f in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(f), "pt") as h:
            for k in h.keys():
                out.add(str(h.get_slice(k).get_dtype()))
    return out


# ---------------------------------------------------------------------------------------------
def check_forward():
    for name in NAMES:
        g = json.loads((GOLDEN / f"{name}.json").read_text())
        m = load(MODELS / name)
        with torch.no_grad():
            lg = m(torch.tensor([g["ids"]])).logits[0]
        d = float((lg - torch.tensor(g["logits"], dtype=torch.float64)).abs().max())
        check(d < 1e-8, f"{name}: logits from disk match golden (max abs diff {d:.2e})")
        # stock transformers (float32 norms/softmax/rope inside a float64 model) and plain float32
        f64.disable()
        for dt, tol in ((torch.float64, 1e-5), (torch.float32, 1e-4)):
            sm = AutoModelForCausalLM.from_pretrained(str(MODELS / name), attn_implementation="eager",
                                                      dtype=torch.float32).to(dt).eval()
            with torch.no_grad():
                sl = sm(torch.tensor([g["ids"]])).logits[0].to(torch.float64)
            sd = float((sl - torch.tensor(g["logits"], dtype=torch.float64)).abs().max())
            check(sd < tol, f"{name}: stock HF eager {str(dt)[6:]} vs golden max abs diff {sd:.2e}")
        f64.enable()
        # batched, left-padded HF generation equals the per-prompt goldens
        prompts = [b["prompt_ids"] for b in g["batch"]]
        L = max(map(len, prompts))
        ids = torch.tensor([[0] * (L - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts])
        with torch.no_grad():
            out = m.generate(ids, attention_mask=mask, max_new_tokens=8, min_new_tokens=8, do_sample=False,
                             pad_token_id=0)
        got = out[:, L:].tolist()
        check(got == [b["new_ids"] for b in g["batch"]], f"{name}: batched left-padded generate == per-prompt greedy")
        eos = m.config.eos_token_id
        all_ids = g["ids"] + g["greedy"]["prompt_ids"] + g["greedy"]["new_ids"] + sum(
            (b["prompt_ids"] + b["new_ids"] for b in g["batch"]), [])
        check(eos not in all_ids, f"{name}: no EOS id in prompts or generated ids")
    check(stored_dtypes(MODELS / "tiny-llama-bf16") == {"BF16"}, "tiny-llama-bf16 stores bfloat16")
    check(stored_dtypes(MODELS / "tiny-llama-f16-sharded") == {"F16"}, "tiny-llama-f16-sharded stores float16")
    idx = json.loads((MODELS / "tiny-llama-f16-sharded" / "model.safetensors.index.json").read_text())
    check(len(set(idx["weight_map"].values())) >= 2, "f16 checkpoint is sharded with an index")
    # tied checkpoints have no lm_head tensor on disk
    for name in ["tiny-llama3", "tiny-qwen2", "tiny-gpt2"]:
        keys = load_file(str(MODELS / name / "model.safetensors")).keys()
        check(not any(k.startswith("lm_head") for k in keys), f"{name}: tied, no lm_head.weight stored")
    keys = load_file(str(MODELS / "tiny-llama" / "model.safetensors")).keys()
    check("lm_head.weight" in keys, "tiny-llama: untied lm_head.weight stored")


def check_llama3_rope():
    g = json.loads((GOLDEN / "tiny-llama3.json").read_text())["rope"]
    c = json.loads((MODELS / "tiny-llama3" / "config.json").read_text())["rope_scaling"]
    import math as m
    old = c["original_max_position_embeddings"]
    lo_wl, hi_wl = old / c["low_freq_factor"], old / c["high_freq_factor"]
    mine, regimes = [], []
    for f in g["inv_freq_unscaled"]:
        wl = 2 * m.pi / f
        if wl < hi_wl:
            mine.append(f); regimes.append("unchanged")
        elif wl > lo_wl:
            mine.append(f / c["factor"]); regimes.append("scaled")
        else:
            s = (old / wl - c["low_freq_factor"]) / (c["high_freq_factor"] - c["low_freq_factor"])
            mine.append((1 - s) * f / c["factor"] + s * f); regimes.append("smoothed")
    d = max(abs(a - b) for a, b in zip(mine, g["inv_freq"]))
    d = max(abs(a - b) / b for a, b in zip(mine, g["inv_freq"]))
    check(d < 1e-9, f"tiny-llama3: hand llama3 rope formula matches ({regimes})")
    check({"unchanged", "scaled", "smoothed"} <= set(regimes), "tiny-llama3: all three llama3 rope regimes exercised")


def check_tokenizer():
    g = json.loads((GOLDEN / "tokenizer.json").read_text())
    raw = Tokenizer.from_file(str(MODELS / "tiny-llama" / "tokenizer.json"))
    ok = all(raw.encode(c["text"]).ids == c["ids"] and raw.encode(c["text"], add_special_tokens=False).ids
             == c["ids_no_special"] and raw.decode(c["ids_no_special"], skip_special_tokens=False)
             == c["decoded"].removeprefix("<s>") for c in g["cases"])
    check(ok, "tokenizer: raw `tokenizers` library reproduces AutoTokenizer ids/decodes")
    t = AutoTokenizer.from_pretrained(str(MODELS / "tiny-llama"))
    r = t.apply_chat_template(g["chat"]["messages"], tokenize=False, add_generation_prompt=True)
    check(r == g["chat"]["rendered"], "tokenizer: chat template (from tokenizer_config.json) renders the golden")
    cfg = json.loads((MODELS / "tiny-llama" / "config.json").read_text())
    check(cfg["vocab_size"] == raw.get_vocab_size() == 320, "tokenizer vocab == model vocab_size (320)")


# ---------------------------------------------------------------------------------------------
def hand_ia3_logits(model_name, adapter_dir, ids, mask):
    """IA3 by hand with forward hooks on the plain base model (no PEFT)."""
    m = load(MODELS / model_name)
    sd = load_file(str(adapter_dir / "adapter_model.safetensors"))
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    ff = cfg["feedforward_modules"]
    hooks = []
    for key, v in sd.items():
        mod_name = key.removeprefix("base_model.model.").removesuffix(".ia3_l")
        mod = m.get_submodule(mod_name)
        vec = v.to(torch.float64).flatten()
        if any(mod_name.endswith(f) for f in ff):  # scales the module input (per in-feature)
            hooks.append(mod.register_forward_pre_hook(lambda _m, args, vec=vec: (args[0] * vec,)))
        else:  # scales the module output (per out-feature, bias included)
            hooks.append(mod.register_forward_hook(lambda _m, _a, out, vec=vec: out * vec))
    with torch.no_grad():
        lg = m(input_ids=ids, attention_mask=mask).logits
    for h in hooks:
        h.remove()
    return lg


def hand_lora_logits(model_name, adapter_dir, ids, mask):
    """LoRA by hand: W += (alpha/r) * B @ A (transposed for GPT-2's Conv1D), no PEFT."""
    m = load(MODELS / model_name)
    sd = load_file(str(adapter_dir / "adapter_model.safetensors"))
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    scale = cfg["lora_alpha"] / cfg["r"]
    with torch.no_grad():
        for key in sd:
            if ".lora_A." not in key:
                continue
            mod_name = key.removeprefix("base_model.model.").split(".lora_A.")[0]
            A = sd[key].to(torch.float64)
            B = sd[key.replace("lora_A", "lora_B")].to(torch.float64)
            w = m.get_submodule(mod_name).weight
            delta = scale * (B @ A)  # (out, in)
            w += delta.T if cfg["fan_in_fan_out"] else delta
        lg = m(input_ids=ids, attention_mask=mask).logits
    return lg


def check_adapters():
    for model_name in ["tiny-llama", "tiny-qwen2", "tiny-gpt2"]:
        for method in ["ia3", "lora"]:
            d = GRAD / f"{model_name}-{method}"
            exp = json.loads((d / "expected.json").read_text())
            ids, mask, labels = batch_of(d)
            pm = load_peft(model_name, d / "adapter")
            out = pm(input_ids=ids, attention_mask=mask)
            loss = lm_loss(out.logits, labels)
            loss.backward()
            check(abs(float(loss) - exp["loss"]) < 1e-8, f"{d.name}: reloaded adapter loss {float(loss):.9f}")
            ref = load_file(str(d / "logits.safetensors"))["logits"].to(torch.float64)
            v = mask.bool()
            dl = float((out.logits.detach() - ref)[v].abs().max())
            check(dl < 1e-5, f"{d.name}: logits.safetensors reproduced (max diff {dl:.1e})")
            grads = load_file(str(d / "grads.safetensors"))
            mine = {n.replace(".default", ""): p.grad for n, p in pm.named_parameters() if p.requires_grad}
            check(set(mine) == set(grads) == set(load_file(str(d / "adapter" / "adapter_model.safetensors"))),
                  f"{d.name}: grads keys == PEFT saved keys")
            rel = max(float((mine[k] - grads[k].to(torch.float64)).abs().max() / grads[k].abs().max()) for k in grads)
            check(rel < 1e-6, f"{d.name}: grads reproduced (max rel diff {rel:.1e})")
            hand = (hand_ia3_logits if method == "ia3" else hand_lora_logits)(model_name, d / "adapter", ids, mask)
            dh = float((hand - ref)[v].abs().max())
            check(dh < 1e-5, f"{d.name}: hand-written {method} (no PEFT) matches logits (max diff {dh:.1e})")
            # finite differences on two adapter elements
            params = {n.replace(".default", ""): p for n, p in pm.named_parameters() if p.requires_grad}
            keys = sorted(params)
            for k in (keys[0], keys[-1]):
                p = params[k]
                flat = p.data.view(-1)
                i = int(torch.argmax(grads[k].abs().view(-1)))
                h = 1e-6
                with torch.no_grad():
                    flat[i] += h
                    lp = float(lm_loss(pm(input_ids=ids, attention_mask=mask).logits, labels))
                    flat[i] -= 2 * h
                    lm = float(lm_loss(pm(input_ids=ids, attention_mask=mask).logits, labels))
                    flat[i] += h
                fd = (lp - lm) / (2 * h)
                an = float(grads[k].view(-1)[i])
                check(abs(fd - an) < 1e-6 * max(1.0, abs(an)) + 1e-7, f"{d.name}: finite difference {k.split('model.')[-1]}[{i}] {fd:.7f} vs {an:.7f}")


def check_merged():
    d = GRAD / "tiny-llama-ia3"
    ids, mask, _ = batch_of(d)
    m = load(d / "merged")
    with torch.no_grad():
        lg = m(input_ids=ids, attention_mask=mask).logits
    ref = load_file(str(d / "logits.safetensors"))["logits"].to(torch.float64)
    diff = float((lg - ref)[mask.bool()].abs().max())
    check(diff < 1e-5, f"merged model logits == IA3 adapter logits (max diff {diff:.1e})")
    base = load_file(str(MODELS / "tiny-llama" / "model.safetensors"))
    merged = load_file(str(d / "merged" / "model.safetensors"))
    ad = load_file(str(d / "adapter" / "adapter_model.safetensors"))
    ok = True
    for k, v in ad.items():
        w = k.removeprefix("base_model.model.").removesuffix(".ia3_l") + ".weight"
        ok &= torch.allclose(merged[w], base[w] * v, rtol=1e-6, atol=0)  # (out,1) rows / (1,in) columns
    check(ok and set(merged) == set(base), "merged weights == base * ia3_l broadcast (k/v rows, down_proj columns)")


def check_full():
    d = GRAD / "tiny-llama-full"
    exp = json.loads((d / "expected.json").read_text())
    ids, mask, labels = batch_of(d)
    m = load(MODELS / "tiny-llama")
    loss = lm_loss(m(input_ids=ids, attention_mask=mask).logits, labels)
    loss.backward()
    grads = load_file(str(d / "grads.safetensors"))
    check(set(grads) == set(load_file(str(MODELS / "tiny-llama" / "model.safetensors"))),
          "full grads keys == HF weight names")
    rel = max(float((dict(m.named_parameters())[k].grad - grads[k].to(torch.float64)).abs().max()
                    / grads[k].abs().max()) for k in grads)
    check(abs(float(loss) - exp["loss"]) < 1e-8 and rel < 1e-6, f"full grads reproduced (max rel diff {rel:.1e})")


def check_optimizers():
    d = GRAD / "tiny-llama-ia3"
    ids, mask, labels = batch_of(d)
    start = {k: v.to(torch.float64) for k, v in load_file(str(d / "adapter" / "adapter_model.safetensors")).items()}

    def run(update_fn):
        pm = load_peft("tiny-llama", d / "adapter")
        params = {n.replace(".default", ""): p for n, p in pm.named_parameters() if p.requires_grad}
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(start[k])
        state, losses = {}, []
        for t in range(1, 4):
            for p in params.values():
                p.grad = None
            loss = lm_loss(pm(input_ids=ids, attention_mask=mask).logits, labels)
            loss.backward()
            losses.append(float(loss))
            with torch.no_grad():
                for k, p in params.items():
                    update_fn(k, p, p.grad, t, state.setdefault(k, {}))
        return params, losses

    def sgd(k, p, g, t, s):
        p -= 0.1 * g

    def adamw(k, p, g, t, s, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8, wd=0.01):
        p *= 1 - lr * wd
        s["m"] = b1 * s.get("m", torch.zeros_like(g)) + (1 - b1) * g
        s["v"] = b2 * s.get("v", torch.zeros_like(g)) + (1 - b2) * g * g
        p -= lr * (s["m"] / (1 - b1 ** t)) / ((s["v"] / (1 - b2 ** t)).sqrt() + eps)

    def adafactor(k, p, g, t, s, lr=3e-3):
        # unfactored form; for (N,1)/(1,N) tensors the factored estimate is mathematically identical
        beta2t = 1.0 - t ** -0.8
        s["v"] = beta2t * s.get("v", torch.zeros_like(g)) + (1 - beta2t) * (g * g + 1e-30)
        u = g / s["v"].sqrt()
        u = u / max(1.0, float(u.pow(2).mean().sqrt()) / 1.0)
        p -= lr * u

    for sub, fn in (("opt-sgd", sgd), ("opt-adamw", adamw), ("opt-adafactor", adafactor)):
        exp = json.loads((d / sub / "expected.json").read_text())
        params, losses = run(fn)
        ref = load_file(str(d / sub / "params.safetensors"))
        diff = max(float((params[k] - ref[k].to(torch.float64)).abs().max()) for k in ref)
        dl = max(abs(a - b) for a, b in zip(losses, exp["losses"]))
        check(diff < 1e-6 and dl < 1e-8, f"{sub}: hand-written optimizer matches (param diff {diff:.1e}, "
                                         f"losses {['%.6f' % x for x in losses]})")


def main():
    check_forward()
    check_llama3_rope()
    check_tokenizer()
    check_adapters()
    check_merged()
    check_full()
    check_optimizers()
    total = sum(f.stat().st_size for f in FIX.rglob("*") if f.is_file())
    print(f"fixtures total: {total} bytes")
    if failures:
        print(f"{len(failures)} FAILED")
        raise SystemExit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
