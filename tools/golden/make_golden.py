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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import f64  # noqa: E402  (true-float64 patches for Llama/Qwen2/Mistral, see f64.py)

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
    # Mistral's sliding window shorter than every golden prompt (16-token logits, 8 + 16 greedy): a
    # query sees itself and the 3 tokens before it, so positions past the window are masked.
    "tiny-mistral-window": dict(cls=MistralForCausalLM, seed=18,
                                cfg=lambda: MistralConfig(
                                    vocab_size=100, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                    rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                                    sliding_window=4, bos_token_id=1, eos_token_id=2,
                                    attn_implementation="eager")),
    # Llama's optional biases (q/k/v/o and MLP) and an erf GELU: settings no other fixture sets.
    "tiny-llama-bias": dict(cls=LlamaForCausalLM, seed=19,
                            cfg=lambda: llama_cfg(vocab_size=128, attention_bias=True, mlp_bias=True, hidden_act="gelu")),
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
    """float64: true-float64 reference (f64.py); float32: stock transformers, eager attention."""
    if dtype == torch.float64:
        m = AutoModelForCausalLM.from_pretrained(str(path), attn_implementation=f64.ATTN_F64, dtype=torch.float32)
        return f64.make_f64(m).eval()
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
        "compute_dtype": "float64 (stored weights upcast exactly; true float64, see tools/golden/f64.py)",
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
    base = AutoModelForCausalLM.from_pretrained(str(MODELS / model_name), attn_implementation=f64.ATTN_F64,
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
    pm = f64.make_f64(pm)
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
        pm = f64.make_f64(build_peft(model_name, "ia3", seed))
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
def describe(path: Path) -> str:
    if path.suffix == ".safetensors":
        with safetensors.safe_open(str(path), "pt") as h:
            keys = list(h.keys())
            dts = sorted({h.get_slice(k).get_dtype() for k in keys})
            if len(keys) <= 2:
                return ", ".join(f"`{k}` {h.get_slice(k).get_dtype()} {h.get_slice(k).get_shape()}" for k in keys)
        return f"{len(keys)} tensors, {'/'.join(dts)}"
    n = path.name
    if path.parent == GOLDEN and n.startswith("tiny-"):
        return "forward logits + greedy/batch generation golden"
    return {
        "tokenizer.json": "tokenizer goldens" if path.parent == GOLDEN else "tokenizer pipeline (HF tokenizers format)",
        "versions.json": "Python package versions",
        "config-fields.json": "the fields of each family's transformers config class",
        "batch.json": "input_ids / attention_mask / labels",
        "expected.json": "loss, shapes, settings, summary",
        "adapter_config.json": "PEFT adapter config",
        "config.json": "HF model config",
        "generation_config.json": "HF generation config",
        "tokenizer_config.json": "tokenizer config + chat_template",
        "special_tokens_map.json": "special tokens",
        "model.safetensors.index.json": "shard index (weight_map)",
    }.get(n, "")


def model_row(name: str) -> str:
    c = json.loads((MODELS / name / "config.json").read_text())
    files = sorted(f.name for f in (MODELS / name).glob("*.safetensors"))
    with safetensors.safe_open(str(MODELS / name / files[0]), "pt") as h:
        dt = h.get_slice(list(h.keys())[0]).get_dtype()
    if c["model_type"] == "gpt2":
        shape = f"n_embd {c['n_embd']}, {c['n_layer']} layers, {c['n_head']} heads, n_positions {c['n_positions']}"
        tied = "yes (default)"
        extra = f"gelu_new, LayerNorm eps {c['layer_norm_epsilon']}, bos=eos={c['eos_token_id']}"
    else:
        hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        shape = (f"hidden {c['hidden_size']}, {c['num_hidden_layers']} layers, {c['num_attention_heads']} heads / "
                 f"{c['num_key_value_heads']} kv, head_dim {hd}, ffn {c['intermediate_size']}")
        tied = "yes" if c.get("tie_word_embeddings") else "no"
        extra = f"rms eps {c['rms_norm_eps']}, rope_theta {c['rope_theta']}"
        if c.get("rope_scaling"):
            extra += f", rope_scaling {json.dumps(c['rope_scaling'], sort_keys=True)}"
        if c["model_type"] == "qwen2":
            extra += ", q/k/v biases"
        if c.get("sliding_window"):
            extra += f", sliding_window {c['sliding_window']}"
        extra += f", bos {c['bos_token_id']} eos {c['eos_token_id']}"
    shards = f"{len(files)} shards + index" if len(files) > 1 else "1 file"
    return f"| `{name}` | {c['architectures'][0]} | {c['vocab_size']} | {shape} | {tied} | {dt}, {shards} | {extra} |"


MANIFEST_HEAD = """# Golden fixtures: MANIFEST

Generated by `tools/golden/make_golden.py` with PyTorch + Hugging Face transformers + PEFT (an
independent reference: none of it was written on this project); cross-checked by
`tools/golden/check_golden.py`. Do not edit by hand: re-run the script (see `tools/golden/README.md`);
it is deterministic and rewrites identical files. CI never runs Python; it only reads these files.

Versions: {versions}.

Total size: **{total} bytes** in {nfiles} files under `test/fixtures/` (this MANIFEST excluded).

## Conventions

- **Reference precision.** Every golden is computed in **true float64** from the stored weights
  (float32 checkpoints, and bf16/f16 ones upcast exactly). Stock transformers 4.57 keeps RMSNorm, the
  eager-attention softmax and RoPE (inv_freq and cos/sin) in float32 even in a `.double()` model;
  `tools/golden/f64.py` patches those three to stay in float64 (same math) and uses SDPA attention.
  Measured: stock-HF float64 logits differ from the goldens by <= 1e-6 (GPT-2: 5e-10, it needs no
  patch); stock-HF **float32** logits differ by <= 2e-6.
- **Storage.** Tensors are safetensors, **float32** (values computed in float64, then rounded), except
  the model checkpoints themselves (float32, or bf16 / f16 for the two dtype models). JSON floats
  carry 10 significant digits. Adapter files are float32, as PEFT saves them.
- **Token ids.** Llama-family prompts start with BOS (id 1); GPT-2 prompts have no BOS (its bos =
  eos = 95). No prompt or generated sequence contains the EOS id, and no prompt contains id 0.
- **Greedy decoding** is plain argmax over the full vocabulary with no EOS handling (none occurs),
  `new_ids` are the generated ids only. It was checked against HF `generate` (KV-cache path),
  against stock-HF float32, and against batched left-padded HF `generate`. `min_margin` is the
  smallest top1-top2 logit gap over all steps (all >= {min_margin:.4f}), so float32 reproduction must
  give exactly the same ids.
- **Loss** (grad fixtures) = HF causal-LM convention: `labels` are unshifted and aligned with
  `input_ids`; position t's logits predict `labels[t+1]`; cross-entropy is averaged over every label
  != -100 after the shift (the mean over the whole batch, not per sequence). Labels are -100 on
  prompt tokens and on padding; the first completion token is predicted by the last prompt position.
- **Padding.** Batches are right-padded with id 0 and `attention_mask` 0 on padding; position ids
  are 0..T-1 per row (HF training-forward default). Logits at padded positions are stored but are not
  meaningful: compare only where `attention_mask == 1`.
- **Adapter key names** are PEFT's saved names (adapter name stripped):
  `base_model.model.model.layers.{{i}}.self_attn.k_proj.ia3_l`,
  `base_model.model.model.layers.{{i}}.self_attn.q_proj.lora_A.weight`,
  `base_model.model.transformer.h.{{i}}.attn.c_attn.ia3_l`, ... `grads.safetensors` and the optimizer
  `params.safetensors` use exactly the same keys as `adapter/adapter_model.safetensors`.
- **IA3 layout (PEFT).** Llama/Qwen2: `k_proj.ia3_l`, `v_proj.ia3_l` have shape `(out, 1)` = (kv_heads *
  head_dim, 1) and multiply the projection *output* (Qwen2: bias included, `(Wx + b) * l`);
  `down_proj.ia3_l` has shape `(1, intermediate)` and multiplies the *input* of `down_proj`.
  GPT-2 (PEFT's defaults: target `["c_attn", "mlp.c_proj"]`, feedforward `["mlp.c_proj"]`,
  `fan_in_fan_out: true`): `attn.c_attn.ia3_l` is `(3 * n_embd, 1)` = (96, 1) and scales the **whole
  fused c_attn output, i.e. q, k and v** (and its bias), in the order q | k | v; `mlp.c_proj.ia3_l` is
  `(1, 4 * n_embd)` = (1, 128) and scales the input of the MLP output projection. `attn.c_proj` is not
  adapted. Adapter values are `1 + 0.2 * N(0,1)` (not the identity), so effects and gradients are
  non-trivial. Merging: `W_k' = diag(l) W_k` (rows of the (out, in) HF Linear weight), `W_down' = W_down
  diag(l)` (columns); GPT-2 Conv1D weights are stored (in, out), so columns for c_attn.
- **LoRA layout (PEFT).** r = 4, alpha = 8 (scaling alpha / r = 2), dropout 0; `lora_A.weight` is
  `(r, in)`, `lora_B.weight` is `(out, r)`; `y = W x + 2 * B (A x)`; lora_A is U(-1/sqrt(in), 1/sqrt(in)), lora_B is random (N(0, 0.1^2)), not
  zero. Llama/Qwen2 target `q_proj`, `v_proj`; GPT-2 targets the fused `c_attn` (out = 96, so the delta
  covers q, k and v) with `fan_in_fan_out: true`: the merged Conv1D weight is `W + (2 B A)^T`.
- **Tokenizer (tiny-llama).** Byte-level BPE (GPT-2 regex pre-tokenizer, ByteLevel decoder), 320 ids:
  `<unk>`=0, `<s>`=1 (BOS), `</s>`=2 (EOS), then the 256 byte symbols (ids 3..258), then 61 merges.
  `merges` are stored in the newer list-of-pairs form (`[["Ġ", "t"], ...]`), not `"Ġ t"` strings.
  BOS is added by the `tokenizer.json` post-processor (`TemplateProcessing`, like Llama 3);
  `tokenizer_config.json` says `tokenizer_class: PreTrainedTokenizerFast`, `add_bos_token: true`,
  `clean_up_tokenization_spaces: false`, and holds the `chat_template` (no separate .jinja file).
  Special-token text inside input text (`"<s>"`, `"</s>"`, `"<unk>"`) is matched as the special token.
- **Config dtype key.** transformers 4.57 writes `"dtype"` (not the older `"torch_dtype"`) in config.json.

## Models (`models/<name>/`: `config.json`, `generation_config.json`, weights from `save_pretrained(safe_serialization=True)`)

Random weights, seeded: matrices N(0, 0.15^2), norm weights 1 + 0.1 N(0,1), all biases 0.1 N(0,1).
Tied models store no `lm_head.weight` (the loader must reuse the embedding).

| name | class | vocab | shape | tied | stored dtype | notes |
| --- | --- | --- | --- | --- | --- | --- |
{model_rows}

`tiny-llama3` uses `original_max_position_embeddings` 32 (not 16) so that its 8 RoPE frequencies
hit all three llama3 regimes: 1 unchanged, 1 smoothed, 6 divided by the factor (with 16, none stays
unchanged). `tiny-llama` also has the tokenizer files (`tokenizer.json`, `tokenizer_config.json`,
`special_tokens_map.json`).

## Forward / generation goldens: `golden/<model>.json`

```
{{ "model": name, "path": "test/fixtures/models/<name>", "compute_dtype": ..., "vocab_size": V,
  "ids": [16 ids],                      // one unpadded sequence, batch 1
  "logits": [[V floats] x 16],          // logits at every position of "ids"
  "greedy": {{ "prompt_ids": [8 ids], "new_ids": [16 ids], "min_margin": f, "margins": [16 floats] }},
  "batch": [ {{ "prompt_ids": [5 ids], "new_ids": [8 ids], "min_margin": f, "margins": [...] }},
             {{ ... 11 ids ... }}, {{ ... 3 ids ... }} ],   // each computed alone
  "rope": {{ "head_dim", "inv_freq_unscaled", "inv_freq", "attention_scaling" }}   // tiny-llama3 only
}}
```

`golden/tokenizer.json`: `{{ "tokenizer", "class", "vocab_size", "special": {{unk|bos|eos: [text, id]}},
"cases": [{{ "text", "ids" (add_special_tokens=True), "ids_no_special", "tokens_no_special",
"decoded" (decode(ids), specials kept), "decoded_skip_special" }}], "chat": {{ "messages",
"add_generation_prompt": true, "rendered", "rendered_ids_no_special" }} }}`; produced by
`AutoTokenizer.from_pretrained("test/fixtures/models/tiny-llama")` and checked against the raw
`tokenizers` library. Cases cover ASCII, accents, CJK, emoji (4-byte UTF-8), leading/trailing/multiple
spaces, tabs/newlines/CRLF, a lone space, the empty string, and special-token text inside a string.

`golden/versions.json`: the Python package versions.

## Gradient / adapter goldens: `golden/grad/<model>-<method>/`

For `tiny-llama`, `tiny-qwen2`, `tiny-gpt2` x `ia3`, `lora`:

- `batch.json`: `{{ "input_ids": [3][12], "attention_mask": [3][12], "labels": [3][12], "prompt_lengths":
  [4, 6, 3], "completion_lengths": [5, 6, 4], "pad_id": 0 }}` (same batch for all methods of a model).
- `adapter/`: `adapter_config.json` + `adapter_model.safetensors` from PEFT `save_pretrained`
  (PEFT's README.md removed; list fields sorted; `base_model_name_or_path` is repo-relative).
- `grads.safetensors`: d loss / d adapter parameter, same keys and shapes as the adapter file.
- `logits.safetensors`: `logits` [3, 12, V] of the adapted model on the batch.
- `expected.json`: `loss`, `hf_model_loss_float32_upcast` (what `model(labels=...)` returns: HF
  upcasts logits with `.float()`, i.e. to float32, inside its loss), `num_loss_tokens`, `params` and
  `grads` (key -> shape), `grad_l2` (key -> L2 norm), `logits_shape`, `peft_config`.

`tiny-llama-ia3` also has:

- `merged/`: `merge_and_unload()` of the float32 PEFT model, saved with `save_pretrained`
  (`config.json`, `generation_config.json`, `model.safetensors`, float32, same keys as the base).
  Its logits equal the adapter model's to {merged_diff:.1e} (float32 rounding of the merged weights);
  `expected.json` records this as `merged_max_abs_logit_diff_vs_adapter`.
- `opt-sgd/`, `opt-adamw/`, `opt-adafactor/`: 3 optimizer steps from `adapter/` on the full batch,
  computed in float64. `expected.json`: `optimizer`, `settings` (every hyperparameter, defaults
  included), `losses` (the loss *before* each step, so `losses[0]` = the adapter's loss), `loss_after`
  (after step 3), `param_order`, `notes` (the exact update rule). `params.safetensors`: parameters
  after step 3 (float32). SGD lr 0.1; torch AdamW lr 1e-2, betas (0.9, 0.999), eps 1e-8, weight decay
  0.01 (decoupled: `p *= 1 - lr*wd` first); transformers Adafactor lr 3e-3, `scale_parameter=False`,
  `relative_step=False`, `warmup_init=False` (so eps (1e-30, 1e-3), clip_threshold 1, decay_rate -0.8,
  beta1 None, weight_decay 0). Adafactor sees ia3_l as 2-D tensors and takes its *factored* branch; for
  `(N, 1)` / `(1, N)` shapes the factored estimate equals the unfactored one exactly
  (`check_golden.py` reproduces all three with hand-written unfactored updates). Smallest |gradient|
  at step 1 is {min_grad:.1e} (largest {max_grad:.2f}), so sign-like first steps (Adam, Adafactor) are unambiguous in float32.

`grad/tiny-llama-full/`: `batch.json` (same as tiny-llama's), `grads.safetensors` = d loss / d every
base weight of tiny-llama, keys = HF weight names (`model.embed_tokens.weight`, `lm_head.weight`, ...),
float32; `expected.json` with `loss`, shapes and L2 norms.

## Suggested tolerances for a float32 implementation

- logits: max abs diff <= 1e-4 (stock PyTorch float32 is within 2e-6 of these goldens; logits are O(1)).
- greedy / batch `new_ids`: exact.
- loss: abs diff <= 1e-5.
- gradients: per tensor, max abs diff <= 1e-4 * max|g| + 1e-7 (float32 autograd: ~1e-6 relative).
- optimizer params after 3 steps: abs diff <= 1e-5 (updates are ~lr per step).
- merged weights vs `merged/model.safetensors`: rel 1e-6.
- tokenizer: exact ids and strings.

## Quirks seen in the reference

- Stock transformers 4.57 with `attn_implementation="eager"` on a **float64** model and
  **left padding** produces NaN rows (the float64 mask minimum becomes -inf in its float32 softmax,
  fully-masked pad rows turn into NaN and leak through `0 * NaN`), so batched generation diverges; the
  float32 model and SDPA are fine. Not an issue for the goldens (SDPA), but do not use eager+float64
  with left padding as a reference.
- `model(labels=...)` loss is float32 even for a float64 model (see `hf_model_loss_float32_upcast`).
- PEFT writes `target_modules` from a Python set, so its order varies between runs; the files here
  are sorted.

## Files

| file | bytes | content |
| --- | --- | --- |
{file_rows}
"""


def write_manifest(versions, fwd):
    files = sorted(f for f in FIX.rglob("*") if f.is_file() and f.name != "MANIFEST.md")
    total = sum(f.stat().st_size for f in files)
    rows = "\n".join(f"| `{f.relative_to(FIX)}` | {f.stat().st_size} | {describe(f)} |" for f in files)
    exp = json.loads((GRAD / "tiny-llama-ia3" / "expected.json").read_text())
    mm = min(min([v["greedy_min_margin"]] + v["batch_min_margins"]) for v in fwd.values())
    g = load_file(str(GRAD / "tiny-llama-ia3" / "grads.safetensors"))
    text = MANIFEST_HEAD.format(
        min_grad=min(float(v.abs().min()) for v in g.values()), max_grad=max(float(v.abs().max()) for v in g.values()),
        versions=", ".join(f"{k} {v}" for k, v in versions.items()),
        total=total, nfiles=len(files), min_margin=mm,
        model_rows="\n".join(model_row(n) for n in MODEL_SPECS),
        merged_diff=exp["merged_max_abs_logit_diff_vs_adapter"],
        file_rows=rows,
    )
    (GOLDEN / "MANIFEST.md").write_text(text)


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

    # The fields of each family's transformers config class: Sprig's table of what each does
    # (src/models/io/config-fields.ts) must cover every one of them.
    import inspect
    classes = {"llama": LlamaConfig, "mistral": MistralConfig, "qwen2": Qwen2Config, "gpt2": GPT2Config}
    write_json(GOLDEN / "config-fields.json", {
        family: [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
        for family, cls in classes.items()
    })

    versions = {
        "python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    write_json(GOLDEN / "versions.json", versions)
    write_manifest(versions, fwd)
    print(json.dumps(versions))


if __name__ == "__main__":
    main()
