"""Check `attn init` checkpoints against the PyTorch mirror of transformers.

Run from the repository root after `go build -o /tmp/attn ./cmd/attn`:

    /usr/bin/python3 tools/golden/models_init.py /tmp/attn

For every architecture it runs `attn init` into a temporary directory, loads
model.safetensors into the matching class of tools/golden/models.py with
strict=True (after restoring the tied weights save_pretrained drops), so the
names and shapes are exactly save_pretrained's layout, then compares
`attn forward` with the mirror's forward on a padded batch
(|a - b| <= 1e-4 + 1e-4|b|). Nothing is written to testdata.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
import models as M  # noqa: E402
from nn_safetensors import load as read  # noqa: E402

CASES = [
    # (init args, class, tied: name -> tied-to name)
    (["--arch", "gpt2", "--layers", "2", "--heads", "4", "--hidden", "32", "--vocab", "50", "--context", "16"],
     M.GPT2LMHeadModel, {"lm_head.weight": "transformer.wte.weight"}),
    (["--arch", "bert", "--head", "BertForMaskedLM", "--hidden", "32", "--vocab", "50", "--context", "16", "--ffn", "40"],
     M.BertForMaskedLM, {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                         "cls.predictions.decoder.bias": "cls.predictions.bias"}),
    (["--arch", "bert", "--head", "BertForSequenceClassification", "--hidden", "32", "--vocab", "50", "--context", "16", "--labels", "3"],
     M.BertForSequenceClassification, {}),
    (["--arch", "vit", "--head", "ViTForImageClassification", "--hidden", "24", "--heads", "3", "--image-size", "16", "--patch-size", "4", "--labels", "5"],
     M.ViTForImageClassification, {}),
    (["--arch", "marian", "--hidden", "32", "--vocab", "50", "--context", "16", "--decoder-layers", "1", "--decoder-heads", "2", "--decoder-ffn", "40"],
     M.Seq2SeqLM, {"lm_head.weight": "model.shared.weight", "model.encoder.embed_tokens.weight": "model.shared.weight",
                   "model.decoder.embed_tokens.weight": "model.shared.weight"}),
    (["--arch", "bart", "--hidden", "32", "--vocab", "50", "--context", "16", "--layers", "1", "--decoder-layers", "2", "--decoder-heads", "2"],
     M.Seq2SeqLM, {"lm_head.weight": "model.shared.weight", "model.encoder.embed_tokens.weight": "model.shared.weight",
                   "model.decoder.embed_tokens.weight": "model.shared.weight"}),
]


def main():
    attn = sys.argv[1] if len(sys.argv) > 1 else "/tmp/attn"
    gen = torch.Generator().manual_seed(7)
    failed = 0
    for args, cls, tied in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "m")
            subprocess.run([attn, "init", *args, "--out", d], check=True, capture_output=True)
            cfg = json.load(open(os.path.join(d, "config.json")))
            state = read(os.path.join(d, "model.safetensors"))
            for dst, src in tied.items():
                state[dst] = state[src]
            model = cls(cfg)
            if cfg["model_type"] == "marian":  # the fixed sinusoids are not saved
                for side in ("encoder", "decoder"):
                    k = f"model.{side}.embed_positions.weight"
                    state[k] = model.state_dict()[k]
            model.load_state_dict(state, strict=True)
            b, t = 2, 7
            mask = torch.ones(b, t, dtype=torch.long)
            mask[1, 5:] = 0
            if cls is M.ViTForImageClassification:
                inputs = {"pixel_values": torch.randn(b, 3, 16, 16, generator=gen)}
                ref = {"logits": model(inputs["pixel_values"])[0]}
            else:
                ids = torch.randint(3, cfg["vocab_size"], (b, t), generator=gen)
                inputs = {"input_ids": ids, "attention_mask": mask}
                if cls is M.GPT2LMHeadModel:
                    ref = {"logits": model(ids, mask)[0]}
                elif cls is M.Seq2SeqLM:
                    dec = torch.randint(3, cfg["vocab_size"], (b, 4), generator=gen)
                    dec[:, 0] = cfg["decoder_start_token_id"]
                    inputs["decoder_input_ids"] = dec
                    ref = {"logits": model(ids, mask, dec)[0]}
                else:
                    types = torch.zeros(b, t, dtype=torch.long)
                    inputs["token_type_ids"] = types
                    ref = {"logits": model(ids, mask, types)[0]}
            inp, outp = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
            M.save(inp, {k: v.contiguous() for k, v in inputs.items()}, {"format": "pt"})
            subprocess.run([attn, "forward", "--model", d, "--inputs", inp, "--out", outp], check=True)
            got = read(outp)
            for k, want in ref.items():
                want = want.detach()
                err = ((got[k] - want).abs() - (1e-4 + 1e-4 * want.abs())).max().item()
                ok = got[k].shape == want.shape and err <= 0
                failed += not ok
                print(f"{cls.__name__:32s} {' '.join(args[:2]):14s} strict load ok, {k} {tuple(want.shape)} "
                      f"{'ok' if ok else 'MISMATCH'} (worst excess {err:.2e})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
