"""Small helpers shared by tests (imported as a module from tests/)."""
import torch

from editnb.losses import masked_log_probs
from editnb.tokenization import encode_prompt_target, teacher_forced_batch


def memorize(model, tokenizer, prompt, target, *, steps=60, lr=3e-3):
    """Fine-tune every weight of a tiny model until it continues ``prompt`` with ``target``."""
    batch = teacher_forced_batch(tokenizer, [encode_prompt_target(tokenizer, prompt, target)])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = masked_log_probs(logits, batch["labels"])["nll"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model
