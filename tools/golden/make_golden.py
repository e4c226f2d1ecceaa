#!/usr/bin/env python3
"""Generate the golden reference fixtures under test/fixtures/ with PyTorch + transformers + PEFT.

Run from anywhere:  .venv/bin/python tools/golden/make_golden.py
Deterministic: every random number comes from a fixed seed; re-running rewrites identical files.
CI never runs this script (CI has no Python); the outputs are committed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
os.chdir(ROOT)  # so recorded paths (base_model_name_or_path, ...) are repo-relative
FIX = Path("test/fixtures")
MODELS = FIX / "models"
GOLDEN = FIX / "golden"
GRAD = GOLDEN / "grad"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

import peft  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from peft import IA3Config, LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)
from transformers.optimization import Adafactor  # noqa: E402

transformers.logging.set_verbosity_error()

# Greedy-decoding prompts are searched until every step's top1-top2 logit gap exceeds this.
MARGIN_THRESHOLD = 5e-3
IGNORE = -100

# --------------------------------------------------------------------------------------------
# JSON output: compact numeric lists (one line each), floats rounded to 10 significant digits.
# --------------------------------------------------------------------------------------------
SIG = 10


def _num(x):
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return json.dumps(x, ensure_ascii=False)
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite float in golden output")
    v = float(f"{x:.{SIG}g}")
    if v == 0.0:
        return "0.0"
    return repr(v)


def _is_scalar(x):
    return x is None or isinstance(x, (bool, int, float, str, np.integer, np.floating))


def to_json(obj, indent=0):
    pad = "  " * indent
    pad1 = "  " * (indent + 1)
    if _is_scalar(obj):
        return _num(obj)
    if isinstance(obj, (list, tuple)):
        if all(_is_scalar(v) for v in obj):
            return "[" + ", ".join(_num(v) for v in obj) + "]"
        return "[\n" + ",\n".join(pad1 + to_json(v, indent + 1) for v in obj) + "\n" + pad + "]"
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [pad1 + json.dumps(str(k), ensure_ascii=False) + ": " + to_json(v, indent + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    raise TypeError(type(obj))


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(obj) + "\n", encoding="utf-8")


def save_f32(tensors: dict, path: Path, metadata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {k: v.detach().to(torch.float32).contiguous().cpu() for k, v in sorted(tensors.items())}
    save_file(out, str(path), metadata=metadata or {"format": "pt"})


def fresh_dir(path: Path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


# --------------------------------------------------------------------------------------------
# Tokenizer (tiny-llama)
# --------------------------------------------------------------------------------------------
CORPUS = [
    "Sprig is a small service that keeps a base model in memory and serves many custom models "
    "derived from it. Each custom model is a handful of vectors that rescale keys, values and the "
    "hidden units of the feed-forward layers, so switching between them costs kilobytes.",
    "Once upon a time there was a little robot who liked to count the stars. Every night the robot "
    "climbed the hill behind the house, sat down on the grass, and counted: one, two, three, four. "
    "The stars never stayed still, so the robot never finished, and that was fine.",
    "The quick brown fox jumps over the lazy dog. A lazy dog does not jump; it sleeps in the sun "
    "and dreams of bones. The fox, being quick, jumps again and again until the evening comes.",
    "To fine-tune a model, upload a file of prompts and completions, choose a method (T-Few, LoRA "
    "or vanilla), pick a learning rate and the number of epochs, and wait for the job to finish. "
    "The loss goes down, the accuracy goes up, and the new model appears in the list.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024. Punctuation: (a, b); [c]! {d}? \"e\" 'f' - g_h.",
    "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9, \u00fcber Stra\u00dfe, se\u00f1or. The end.",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

TOKENIZER_VOCAB = 320  # 3 special + 256 byte symbols + 61 merges


def build_tokenizer(out_dir: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        min_frequency=2,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    assert tok.get_vocab_size() == TOKENIZER_VOCAB, tok.get_vocab_size()
    assert tok.token_to_id("<unk>") == 0 and tok.token_to_id("<s>") == 1 and tok.token_to_id("</s>") == 2
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True),
            processors.TemplateProcessing(
                single="<s> $A",
                pair="<s> $A <s> $B",
                special_tokens=[("<s>", 1)],
            ),
        ]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        add_bos_token=True,
        add_eos_token=False,
        model_max_length=64,
    )
    fast.save_pretrained(str(out_dir))
    # A plain fast tokenizer: tokenizer.json carries the whole pipeline (BOS via TemplateProcessing).
    cfg_path = out_dir / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    # Keep the chat template inside tokenizer_config.json (the common layout on the Hub) rather than
    # the separate chat_template.jinja that transformers >= 4.56 writes.
    cfg["chat_template"] = CHAT_TEMPLATE
    jinja = out_dir / "chat_template.jinja"
    if jinja.exists():
        jinja.unlink()
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


TOKENIZER_STRINGS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "once upon a time, the robot counted 42 stars!",
    "Caf\u00e9 na\u00efve \u00fcber",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "emoji \U0001F642\U0001F680 and \u00bd",
    "  leading spaces",
    "trailing spaces   ",
    "tabs\tand\nnew\n\nlines\r\n",
    " ",
    "",
    "<s>special</s> tokens <unk> inline",
    "fine-tune: T-Few (IA)^3, LoRA & vanilla",
]

CHAT_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Count the stars."},
    {"role": "assistant", "content": "One, two, three."},
    {"role": "user", "content": "Caf\u00e9?"},
]


def tokenizer_golden(model_dir: Path):
    t = AutoTokenizer.from_pretrained(str(model_dir))
    cases = []
    for s in TOKENIZER_STRINGS:
        ids = t(s, add_special_tokens=True)["input_ids"]
        ids_plain = t(s, add_special_tokens=False)["input_ids"]
        cases.append(
            {
                "text": s,
                "ids": ids,
                "ids_no_special": ids_plain,
                "tokens_no_special": t.convert_ids_to_tokens(ids_plain),
                "decoded": t.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": t.decode(ids, skip_special_tokens=True),
            }
        )
    rendered = t.apply_chat_template(CHAT_MESSAGES, tokenize=False, add_generation_prompt=True)
    rendered_ids = t(rendered, add_special_tokens=False)["input_ids"]
    return {
        "tokenizer": str(model_dir),
        "class": type(t).__name__,
        "vocab_size": len(t),
        "special": {"unk": [t.unk_token, t.unk_token_id], "bos": [t.bos_token, t.bos_token_id],
                    "eos": [t.eos_token, t.eos_token_id]},
        "notes": "ids = tokenizer(text)['input_ids'] (BOS prepended by the tokenizer.json post_processor); "
                 "ids_no_special = add_special_tokens=False; special-token text inside a string is matched as "
                 "the special token; decode(..., clean_up_tokenization_spaces=False).",
        "cases": cases,
        "chat": {
            "messages": CHAT_MESSAGES,
            "add_generation_prompt": True,
            "rendered": rendered,
            "rendered_ids_no_special": rendered_ids,
        },
    }


# --------------------------------------------------------------------------------------------
# Tiny random models
# --------------------------------------------------------------------------------------------
def init_weights(model: torch.nn.Module, seed: int, std: float = 0.15):
    """Seeded N(0, std) matrices; norm weights 1 + 0.1 N(0,1); every bias 0.1 N(0,1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters appear once
            r = torch.randn(p.shape, generator=g, dtype=torch.float64)
            is_norm = ("norm" in name) or (".ln_" in name) or name.startswith("transformer.ln_f")
            if p.ndim == 1 and is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            elif p.ndim == 1:
                p.copy_(0.1 * r)
            else:
                p.copy_(std * r)


def llama_cfg(**kw):
    base = dict(
        vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, attn_implementation="eager",
    )
    base.update(kw)
    return LlamaConfig(**base)


MODEL_SPECS = {
    # name: (constructor, config factory, seed, save kwargs)
    "tiny-llama": dict(cls=LlamaForCausalLM, seed=11,
                       cfg=lambda: llama_cfg(vocab_size=TOKENIZER_VOCAB)),
    "tiny-llama3": dict(cls=LlamaForCausalLM, seed=12,
                        cfg=lambda: llama_cfg(
                            vocab_size=128, head_dim=16, tie_word_embeddings=True, rope_theta=10000.0,
                            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                          "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
    "tiny-qwen2": dict(cls=Qwen2ForCausalLM, seed=13,
                       cfg=lambda: Qwen2Config(
                           vocab_size=112, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                           rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                           use_sliding_window=False, sliding_window=None, max_window_layers=2,
                           bos_token_id=1, eos_token_id=2, attn_implementation="eager")),
    "tiny-mistral": dict(cls=MistralForCausalLM, seed=14,
                         cfg=lambda: MistralConfig(
                             vocab_size=100, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                             rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                             sliding_window=None, bos_token_id=1, eos_token_id=2,
                             attn_implementation="eager")),
    "tiny-gpt2": dict(cls=GPT2LMHeadModel, seed=15,
                      cfg=lambda: GPT2Config(
                          vocab_size=96, n_embd=32, n_head=4, n_layer=2, n_positions=64,
                          bos_token_id=95, eos_token_id=95, attn_implementation="eager")),
    "tiny-llama-bf16": dict(cls=LlamaForCausalLM, seed=16, dtype=torch.bfloat16,
                            cfg=lambda: llama_cfg(vocab_size=128)),
    "tiny-llama-f16-sharded": dict(cls=LlamaForCausalLM, seed=17, dtype=torch.float16,
                                   shard=24_000, cfg=lambda: llama_cfg(vocab_size=128)),
}


def build_model(name: str):
    spec = MODEL_SPECS[name]
    cfg = spec["cfg"]()
    torch.manual_seed(spec["seed"])
    model = spec["cls"](cfg).eval()
    init_weights(model, spec["seed"])
    out = MODELS / name
    fresh_dir(out)
    dtype = spec.get("dtype")
    if dtype is not None:
        model = model.to(dtype)
    kw = dict(safe_serialization=True)
    if "shard" in spec:
        kw["max_shard_size"] = spec["shard"]
    model.save_pretrained(str(out), **kw)
    return out


def load_model(path, dtype=torch.float64):
    m = AutoModelForCausalLM.from_pretrained(str(path), attn_implementation="eager", dtype=torch.float32)
    return m.to(dtype).eval()


# --------------------------------------------------------------------------------------------
# Forward / greedy goldens
# --------------------------------------------------------------------------------------------
@torch.no_grad()
def greedy(model, prompt, n):
    ids = list(prompt)
    new, margins = [], []
    for _ in range(n):
        logits = model(torch.tensor([ids])).logits[0, -1]
        top = torch.topk(logits, 2)
        margins.append(float(top.values[0] - top.values[1]))
        nxt = int(top.indices[0])
        new.append(nxt)
        ids.append(nxt)
    return new, margins


def rand_prompt(g, length, vocab, eos, bos):
    avoid = {eos, 0}
    toks = []
    while len(toks) < length:
        t = int(torch.randint(3, vocab, (1,), generator=g))
        if t not in avoid:
            toks.append(t)
    if bos is not None and bos != eos:
        toks[0] = bos
    return toks


def search_prompt(model, model32, g, length, n_new, vocab, eos, bos, tries=400):
    best = None
    for _ in range(tries):
        p = rand_prompt(g, length, vocab, eos, bos)
        new, margins = greedy(model, p, n_new)
        mm = min(margins)
        if eos in new:
            continue
        if best is None or mm > best[2]:
            best = (p, new, mm, margins)
        if mm > MARGIN_THRESHOLD:
            break
    p, new, mm, margins = best
    assert mm > 1e-3, f"no prompt with margin > 1e-3 (best {mm})"
    new32, _ = greedy(model32, p, n_new)
    assert new32 == new, "float32 greedy differs from float64 greedy"
    return {"prompt_ids": p, "new_ids": new, "min_margin": mm, "margins": margins}


def forward_golden(name: str):
    path = MODELS / name
    model = load_model(path, torch.float64)
    model32 = load_model(path, torch.float32)
    cfg = model.config
    vocab = cfg.vocab_size
    eos = cfg.eos_token_id
    bos = cfg.bos_token_id if name != "tiny-gpt2" else None
    g = torch.Generator().manual_seed(1000 + MODEL_SPECS[name]["seed"])

    ids = rand_prompt(g, 16, vocab, eos, bos)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    gr = search_prompt(model, model32, g, 8, 16, vocab, eos, bos)
    # HF generate (KV-cache path) must agree with the manual full-recompute loop.
    with torch.no_grad():
        out = model.generate(torch.tensor([gr["prompt_ids"]]), attention_mask=torch.ones(1, 8, dtype=torch.long),
                             max_new_tokens=16, min_new_tokens=16, do_sample=False, pad_token_id=0,
                             num_beams=1)
    assert out[0, 8:].tolist() == gr["new_ids"], (name, out[0, 8:].tolist(), gr["new_ids"])
    batch = [search_prompt(model, model32, g, L, 8, vocab, eos, bos) for L in (5, 11, 3)]

    res = {
        "model": name,
        "path": str(path),
        "compute_dtype": "float64 (stored weights upcast exactly)",
        "vocab_size": vocab,
        "ids": ids,
        "logits": logits.tolist(),
        "greedy": gr,
        "batch": batch,
    }
    rot = getattr(model.model, "rotary_emb", None) if hasattr(model, "model") else None
    if rot is not None and name == "tiny-llama3":
        # Reference for the llama3 frequency rewrite (before: plain rope inv_freq; after: scaled).
        hd = cfg.head_dim
        plain = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        res["rope"] = {
            "head_dim": hd,
            "inv_freq_unscaled": plain.tolist(),
            "inv_freq": rot.inv_freq.to(torch.float64).tolist(),
            "attention_scaling": float(rot.attention_scaling),
        }
    write_json(GOLDEN / f"{name}.json", res)
    return res


# --------------------------------------------------------------------------------------------
# Adapters and gradients
# --------------------------------------------------------------------------------------------
def make_batch(name: str, vocab: int, eos: int, bos):
    g = torch.Generator().manual_seed(2000 + MODEL_SPECS[name]["seed"])
    shapes = [(4, 5), (6, 6), (3, 4)]  # (prompt, completion) lengths
    T = max(a + b for a, b in shapes)
    input_ids, attn, labels = [], [], []
    for (pl, cl) in shapes:
        seq = rand_prompt(g, pl + cl, vocab, eos, bos)
        pad = T - len(seq)
        input_ids.append(seq + [0] * pad)
        attn.append([1] * len(seq) + [0] * pad)
        labels.append([IGNORE] * pl + seq[pl:] + [IGNORE] * pad)
    return {"input_ids": input_ids, "attention_mask": attn, "labels": labels,
            "prompt_lengths": [a for a, _ in shapes], "completion_lengths": [b for _, b in shapes],
            "pad_id": 0}


def lm_loss(logits, labels):
    """HF causal-LM loss in the logits' own dtype: shift by one, mean CE over labels != -100."""
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE, reduction="mean")


def adapter_key(param_name: str) -> str:
    # peft parameter "…k_proj.ia3_l.default" -> saved key "…k_proj.ia3_l"; "…lora_A.default.weight" -> "…lora_A.weight"
    return param_name.replace(".default", "")


def peft_config(model_name: str, method: str):
    gpt2 = model_name == "tiny-gpt2"
    if method == "ia3":
        if gpt2:  # PEFT's built-in defaults for gpt2
            return IA3Config(task_type="CAUSAL_LM", fan_in_fan_out=True)
        return IA3Config(task_type="CAUSAL_LM", target_modules=["k_proj", "v_proj", "down_proj"],
                         feedforward_modules=["down_proj"])
    if method == "lora":
        return LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0, bias="none",
                          target_modules=["c_attn"] if gpt2 else ["q_proj", "v_proj"], fan_in_fan_out=gpt2)
    raise ValueError(method)


def build_peft(model_name: str, method: str, seed: int):
    base = AutoModelForCausalLM.from_pretrained(str(MODELS / model_name), attn_implementation="eager",
                                                dtype=torch.float32)
    torch.manual_seed(seed)
    pm = get_peft_model(base, peft_config(model_name, method))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in sorted(pm.named_parameters()):
            if "ia3_l" in n:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif "lora_B" in n:
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif "lora_A" in n:  # PEFT's kaiming-uniform init, re-drawn from our generator for stability
                bound = 1.0 / math.sqrt(p.shape[1])
                p.copy_((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound)
    return pm


def normalize_adapter_config(path: Path):
    # PEFT stores target_modules / feedforward_modules as Python sets: sort them so files are stable.
    cfg = json.loads(path.read_text())
    for k in ("target_modules", "feedforward_modules"):
        if isinstance(cfg.get(k), list):
            cfg[k] = sorted(cfg[k])
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def trainable(pm):
    return {adapter_key(n): p for n, p in pm.named_parameters() if p.requires_grad}


def batch_tensors(batch):
    return (torch.tensor(batch["input_ids"]), torch.tensor(batch["attention_mask"]), torch.tensor(batch["labels"]))


def loss_and_grads(model, batch, params: dict):
    ids, mask, labels = batch_tensors(batch)
    for p in params.values():
        p.grad = None
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    loss = lm_loss(out.logits, labels)
    loss.backward()
    return loss, out.logits.detach(), out.loss.detach(), {k: p.grad.detach().clone() for k, p in params.items()}


def shapes_of(d):
    return {k: list(v.shape) for k, v in sorted(d.items())}


def grad_case(model_name: str, method: str, batch, seed: int):
    out = GRAD / f"{model_name}-{method}"
    fresh_dir(out)
    write_json(out / "batch.json", batch)
    pm = build_peft(model_name, method, seed)
    pm.save_pretrained(str(out / "adapter"))
    normalize_adapter_config(out / "adapter" / "adapter_config.json")
    readme = out / "adapter" / "README.md"
    if readme.exists():
        readme.unlink()
    saved = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    pm = pm.to(torch.float64)
    pm.eval()
    params = trainable(pm)
    assert set(params) == set(saved), (sorted(params), sorted(saved))
    loss, logits, hf_loss, grads = loss_and_grads(pm, batch, params)
    assert abs(float(hf_loss) - float(loss)) < 1e-5 * max(1.0, abs(float(loss)))
    save_f32(grads, out / "grads.safetensors")
    save_f32({"logits": logits}, out / "logits.safetensors")
    ids, mask, labels = batch_tensors(batch)
    n_tok = int((labels[:, 1:] != IGNORE).sum())
    exp = {
        "model": model_name,
        "method": method,
        "base_model": str(MODELS / model_name),
        "loss": float(loss),
        "hf_model_loss_float32_upcast": float(hf_loss),
        "num_loss_tokens": n_tok,
        "compute_dtype": "float64",
        "storage_dtype": "float32",
        "params": shapes_of(params),
        "grads": shapes_of(grads),
        "grad_l2": {k: float(v.norm()) for k, v in sorted(grads.items())},
        "logits_shape": list(logits.shape),
        "peft_config": json.loads((out / "adapter" / "adapter_config.json").read_text()),
    }
    return out, pm, params, exp


def merged_case(out: Path, model_name: str, method: str, seed: int, batch, ref_logits):
    """Merged checkpoint of the adapter, made in float32 like a user would."""
    pm = build_peft(model_name, method, seed)
    merged = pm.merge_and_unload()
    mdir = out / "merged"
    fresh_dir(mdir)
    merged.save_pretrained(str(mdir), safe_serialization=True)
    m = load_model(mdir, torch.float64)
    ids, mask, _ = batch_tensors(batch)
    with torch.no_grad():
        lg = m(input_ids=ids, attention_mask=mask).logits
    valid = mask.bool()
    diff = float((lg - ref_logits)[valid].abs().max())
    assert diff < 1e-4, f"merged vs adapter logits differ by {diff}"
    return diff


def optimizer_runs(out: Path, model_name: str, seed: int, batch):
    runs = {
        "opt-sgd": ("torch.optim.SGD", dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
                    lambda ps: torch.optim.SGD(ps, lr=0.1)),
        "opt-adamw": ("torch.optim.AdamW",
                      dict(lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.01, amsgrad=False),
                      lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
        "opt-adafactor": ("transformers.optimization.Adafactor",
                          dict(lr=3e-3, eps=[1e-30, 1e-3], clip_threshold=1.0, decay_rate=-0.8, beta1=None,
                               weight_decay=0.0, scale_parameter=False, relative_step=False, warmup_init=False),
                          lambda ps: Adafactor(ps, lr=3e-3, scale_parameter=False, relative_step=False,
                                               warmup_init=False)),
    }
    summary = {}
    for sub, (cls, settings, make) in runs.items():
        pm = build_peft(model_name, "ia3", seed).to(torch.float64)
        pm.eval()
        params = trainable(pm)
        keys = sorted(params)
        opt = make([params[k] for k in keys])
        losses = []
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            loss, _, _, _ = loss_and_grads(pm, batch, params)
            losses.append(float(loss))
            opt.step()
        with torch.no_grad():
            ids, mask, labels = batch_tensors(batch)
            final = float(lm_loss(pm(input_ids=ids, attention_mask=mask).logits, labels))
        d = out / sub
        fresh_dir(d)
        save_f32({k: params[k] for k in keys}, d / "params.safetensors")
        write_json(d / "expected.json", {
            "optimizer": cls,
            "settings": settings,
            "steps": 3,
            "start": "the adapter in ../adapter (float32 values, computed in float64)",
            "per_step": "each step: zero grads, loss on the full batch (../batch.json), backward, optimizer.step()",
            "param_order": keys,
            "losses": losses,
            "loss_after": final,
            "final_params": "params.safetensors (PEFT key names, float32)",
            "notes": OPT_NOTES[sub],
        })
        summary[sub] = {"losses": losses, "loss_after": final}
    return summary


OPT_NOTES = {
    "opt-sgd": "p -= lr * g",
    "opt-adamw": "torch AdamW: p *= 1 - lr*wd (decoupled, before the update); m = b1 m + (1-b1) g; "
                 "v = b2 v + (1-b2) g^2; p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps); t starts at 1",
    "opt-adafactor": "transformers Adafactor with beta1=None (no momentum). ia3_l tensors are 2-D "
                     "((out,1) or (1,in)), so Adafactor uses the FACTORED second moment (row/col means, "
                     "factored = ndim >= 2). beta2t = 1 - t^-0.8 (t from 1, so 0 at t=1); "
                     "update = g / sqrt(v_hat) with v from grad^2 + eps[0]; update /= max(1, rms(update)/clip_threshold); "
                     "p -= lr * update (lr fixed because relative_step=False and scale_parameter=False).",
}


def full_case(model_name: str, batch):
    out = GRAD / f"{model_name}-full"
    fresh_dir(out)
    write_json(out / "batch.json", batch)
    m = load_model(MODELS / model_name, torch.float64)
    params = dict(m.named_parameters())
    loss, _, hf_loss, grads = loss_and_grads(m, batch, params)
    save_f32(grads, out / "grads.safetensors")
    ids, mask, labels = batch_tensors(batch)
    write_json(out / "expected.json", {
        "model": model_name,
        "method": "full",
        "base_model": str(MODELS / model_name),
        "loss": float(loss),
        "hf_model_loss_float32_upcast": float(hf_loss),
        "num_loss_tokens": int((labels[:, 1:] != IGNORE).sum()),
        "compute_dtype": "float64",
        "storage_dtype": "float32",
        "grads": shapes_of(grads),
        "grad_l2": {k: float(v.norm()) for k, v in sorted(grads.items())},
    })


# --------------------------------------------------------------------------------------------
def main():
    FIX.mkdir(parents=True, exist_ok=True)
    for name in MODEL_SPECS:
        build_model(name)
        print("model", name, flush=True)
    build_tokenizer(MODELS / "tiny-llama")
    write_json(GOLDEN / "tokenizer.json", tokenizer_golden(MODELS / "tiny-llama"))

    fwd = {}
    for name in MODEL_SPECS:
        r = forward_golden(name)
        fwd[name] = {"greedy_min_margin": r["greedy"]["min_margin"],
                     "batch_min_margins": [b["min_margin"] for b in r["batch"]]}
        print("forward", name, fwd[name], flush=True)

    fresh_dir(GRAD)
    info = {}
    for model_name in ("tiny-llama", "tiny-qwen2", "tiny-gpt2"):
        cfg = json.loads((MODELS / model_name / "config.json").read_text())
        bos = None if model_name == "tiny-gpt2" else cfg["bos_token_id"]
        batch = make_batch(model_name, cfg["vocab_size"], cfg["eos_token_id"], bos)
        for mi, method in enumerate(("ia3", "lora")):
            seed = 3000 + 10 * MODEL_SPECS[model_name]["seed"] + mi
            out, pm, params, exp = grad_case(model_name, method, batch, seed)
            if model_name == "tiny-llama" and method == "ia3":
                ref = load_file(str(out / "logits.safetensors"))["logits"].to(torch.float64)
                with torch.no_grad():
                    ids, mask, _ = batch_tensors(batch)
                    ref64 = pm(input_ids=ids, attention_mask=mask).logits
                exp["merged_max_abs_logit_diff_vs_adapter"] = merged_case(out, model_name, method, seed, batch, ref64)
                exp["optimizers"] = optimizer_runs(out, model_name, seed, batch)
            write_json(out / "expected.json", exp)
            info[f"{model_name}-{method}"] = exp["loss"]
            print("grad", model_name, method, exp["loss"], flush=True)
        if model_name == "tiny-llama":
            full_case(model_name, batch)
            print("grad full", flush=True)

    versions = {
        "python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    write_json(GOLDEN / "versions.json", versions)
    print(json.dumps(versions))


if __name__ == "__main__":
    main()
