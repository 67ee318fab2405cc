"""Recipe probe: a short manual training loop over the NVAE (no Trainer), for the runs in docs/recipe.md.

Logs training CE, the proportion of vectors kept, KL terms and ms per step every --log steps, then greedy test BLEU
on the first --eval_n test sentences and five prior samples. Learning rate: linear warm-up, then sqrt decay to 0.

    python scripts/recipe_probe.py --steps 300 --bottleneck none --prenorm 1 --lr 1e-3
"""

import argparse
import gzip
import json
import random
import time

import torch

from nvib_hf.data import DEFAULT_CORPUS_FILE, load_tokenizer
from nvib_hf.data.collator import NvaeDataCollator
from nvib_hf.evaluation.reconstruction import greedy_reconstructions, text_metrics
from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training.schedules import DecaySchedule

p = argparse.ArgumentParser()
p.add_argument("--tok", default="wordpiece-8k", help="a shipped tokenizer name or a directory")
p.add_argument("--d", type=int, default=128)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--xheads", type=int, default=1)
p.add_argument("--ffn", type=int, default=512)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--warmup", type=int, default=100)
p.add_argument("--steps", type=int, default=1500)
p.add_argument("--bs", type=int, default=64)
p.add_argument("--prenorm", type=int, default=1)
p.add_argument("--alpha", default="relu")
p.add_argument("--kl_start", type=int, default=600)
p.add_argument("--kl_warm", type=int, default=300)
p.add_argument("--lg", type=float, default=0.01)
p.add_argument("--ld", type=float, default=1.0)
p.add_argument("--delta", type=float, default=1.0)
p.add_argument("--delta_end", type=float, default=None, help="lower δ linearly to this value ...")
p.add_argument("--delta_from", type=int, default=2000, help="... from this step ...")
p.add_argument("--delta_to", type=int, default=3000, help="... to this step")
p.add_argument("--save", default=None, help="save the trained model and tokenizer here")
p.add_argument("--bottleneck", default="nvib")
p.add_argument("--bf16", type=int, default=0)
p.add_argument("--dropout", type=float, default=0.1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--eval_n", type=int, default=500)
p.add_argument("--log", type=int, default=50)
p.add_argument("--extra", default="{}")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--tie_pos", type=int, default=0)
p.add_argument("--word_dropout", type=float, default=0.0)
p.add_argument("--qk_init", type=int, default=0)
p.add_argument("--guide", type=float, default=0.0, help="guided-alignment loss weight (annealed to 0 by --guide_end)")
p.add_argument("--guide_end", type=int, default=600)
p.add_argument("--guide_width", type=float, default=1.5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)
tok = load_tokenizer(a.tok)
lines = gzip.open(DEFAULT_CORPUS_FILE, "rt").read().splitlines()  # validation | test | train, as shipped
test, train = lines[2000:4000], lines[4000:]
enc = tok(train)["input_ids"]
cfg = NvaeConfig(
    vocab_size=len(tok),
    d_model=a.d,
    encoder_layers=a.layers,
    decoder_layers=a.layers,
    encoder_attention_heads=a.heads,
    decoder_attention_heads=a.heads,
    encoder_ffn_dim=a.ffn,
    decoder_ffn_dim=a.ffn,
    dropout=a.dropout,
    bottleneck=a.bottleneck,
    pad_token_id=tok.pad_token_id,
    bos_token_id=tok.cls_token_id,
    eos_token_id=tok.sep_token_id,
    decoder_start_token_id=tok.cls_token_id,
    cross_attention_heads=a.xheads,
    normalize_before=bool(a.prenorm),
    alpha_activation=a.alpha,
    delta=a.delta,
    max_position_embeddings=96,
    alignment_width=a.guide_width,
    **json.loads(a.extra),
)
model = NvaeForConditionalGeneration(cfg)
enc_pos = model.model.encoder.transformer.embed_positions


class Shifted(torch.nn.Module):
    def __init__(self, table, shift):
        super().__init__()
        self.table, self.shift = table, shift

    def forward(self, input_ids, cache_length=0, position_ids=None):
        if position_ids is not None:
            position_ids = position_ids + self.shift
        return self.table(input_ids, cache_length + self.shift, position_ids)


if a.tie_pos:
    model.model.decoder.embed_positions = Shifted(enc_pos, a.tie_pos - 1)
if a.qk_init:
    for layer in model.model.decoder.layers:
        layer.encoder_attn.k_proj.weight.data.copy_(layer.encoder_attn.q_proj.weight.data)
guide = DecaySchedule(a.guide, a.guide_end)  # λ_A of the guided alignment
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
coll = NvaeDataCollator(pad_token_id=tok.pad_token_id)


def batches():
    while True:
        idx = list(range(len(enc)))
        random.shuffle(idx)
        chunk = a.bs * 50
        out = []
        for c in range(0, len(idx), chunk):
            part = sorted(idx[c : c + chunk], key=lambda i: len(enc[i]))
            out += [part[i : i + a.bs] for i in range(0, len(part), a.bs)]
        random.shuffle(out)
        yield from out


def lam(step, top):
    if step < a.kl_start:
        return 0.0
    return top * min(1.0, (step - a.kl_start + 1) / max(a.kl_warm, 1))


it = batches()
model.train()
t0 = time.time()
acc = {"ce": 0.0, "kept": 0.0, "klg": 0.0, "kld": 0.0, "n": 0}
for step in range(a.steps):
    lr = a.lr * min(1.0, (step + 1) / a.warmup) * (1 - step / a.steps) ** 0.5
    for g in opt.param_groups:
        g["lr"] = lr
    if a.delta_end is not None:  # the KL_D prior's slope, read by the NVIB layer at every call
        ramp = min(1.0, max(0.0, (step - a.delta_from) / max(a.delta_to - a.delta_from, 1)))
        model.config.delta = a.delta + ramp * (a.delta_end - a.delta)
    b = coll([{"input_ids": enc[i], "labels": enc[i][1:]} for i in next(it)])
    if a.word_dropout:
        from transformers.models.bart.modeling_bart import shift_tokens_right

        dec = shift_tokens_right(b["labels"].clamp_min(0), tok.pad_token_id, tok.cls_token_id)
        drop = (torch.rand(dec.shape) < a.word_dropout) & (dec != tok.pad_token_id)
        drop[:, 0] = False
        b["decoder_input_ids"] = dec.masked_fill(drop, tok.mask_token_id)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
        out = model(
            **b, lambda_gaussian=lam(step, a.lg), lambda_dirichlet=lam(step, a.ld), lambda_alignment=guide(step)
        )
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    acc["ce"] += out.reconstruction_loss.item()
    acc["kept"] += out.vectors_kept_proportion.float().mean().item()
    acc["klg"] += 0.0 if out.kl_gaussian is None else out.kl_gaussian.item()
    acc["kld"] += 0.0 if out.kl_dirichlet is None else out.kl_dirichlet.item()
    acc["n"] += 1
    if (step + 1) % a.log == 0:
        n = acc.pop("n")
        print(
            f"step {step + 1} ce {acc['ce'] / n:.3f} kept {acc['kept'] / n:.3f} klg {acc['klg'] / n:.2f} "
            f"kld {acc['kld'] / n:.3f} delta {model.config.delta:.3f} ms/step {(time.time() - t0) / (step + 1) * 1000:.0f} lr {lr:.2e}",
            flush=True,
        )
        acc = {k: 0.0 for k in acc} | {"n": 0}
train_time = time.time() - t0
if a.save:
    model.save_pretrained(a.save)
    tok.save_pretrained(a.save)
model.eval()
preds, refs, kept = [], [], []
t1 = time.time()
tenc = tok(test[: a.eval_n])["input_ids"]
order = sorted(range(len(tenc)), key=lambda i: len(tenc[i]))
with torch.no_grad():
    for c in range(0, len(order), 100):
        ids = [tenc[i] for i in order[c : c + 100]]
        b = coll([{"input_ids": x, "labels": x[1:]} for x in ids])
        pr, rf = greedy_reconstructions(model, b, tok, {"max_new_tokens": 80})
        preds += pr
        refs += rf
        lat = model.get_encoder()(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).latent
        if lat.vectors_kept_proportion is not None:
            kept += lat.vectors_kept_proportion.tolist()
m = text_metrics(preds, refs)
print(
    "RESULT",
    json.dumps(
        {
            **vars(a),
            **m,
            "kept": sum(kept) / max(len(kept), 1),
            "train_s": round(train_time),
            "eval_s": round(time.time() - t1),
        }
    ),
)
for pr, rf in list(zip(preds, refs))[200:203]:
    print("REF", rf, "\nOUT", pr)
if a.bottleneck != "none":
    print("SAMPLES", model.sample_prior(5, tokenizer=tok, generator=torch.Generator().manual_seed(0)))
