"""Fine-tune MiniLM as the reader: length-bucketed batches, resumable from where a run stopped.

The state (weights, optimizer, schedule, epoch and batch reached, seconds spent) is written every
``save_every_s`` seconds and at each epoch's end, atomically (a new folder renamed over the old), so
a run that is killed or runs out of time continues with ``--resume`` from its last save: the epoch's
batch order is a function of the seed, so the batches already trained on are skipped, not redrawn.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fit.reader.tokens import TokenRows

STATE_DIR = "state"
PROGRESS_FILE = "progress.json"
OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"  # dropout's random state: a resumed run draws the masks an unbroken one would
CLIP_GRAD_NORM = 1.0
LOG_EVERY_STEPS = 50


@dataclass
class TrainConfig:
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 8e-5
    warmup_share: float = 0.05
    weight_decay: float = 0.01
    seed: int = 25
    threads: int = 2
    max_train_minutes: float | None = None  # the schedule is cut to what fits, at the measured speed
    max_steps: int | None = None
    freeze_word_embeddings: bool = True
    bf16: bool = True  # autocast matmuls to bfloat16 (AVX512-BF16 on these CPUs); weights stay fp32
    save_every_s: float = 600.0
    snapshot_every_steps: int | None = None  # extra checkpoints along the way: a learning curve


@dataclass
class Progress:
    """Where a run stands; saved beside the weights."""

    epoch: int = 0  # the epoch under way
    batch: int = 0  # batches of it done
    step: int = 0  # optimizer steps done in all
    seconds: float = 0.0  # spent in steps
    planned_steps: int = 0  # steps the schedule decays over
    pairs_seen: int = 0


def bucketed_batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Row indexes in batches of similar length (padding is most of the waste on CPU), the batches
    in random order; the same for the same lengths and seed."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(lengths)), lengths))
    groups = [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]
    return [groups[i] for i in rng.permutation(len(groups))]


def batch_tensors(rows: TokenRows, offsets: np.ndarray, picked: np.ndarray) -> dict:
    import torch

    width = int(rows.lengths[picked].max())
    ids = np.zeros((len(picked), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, r in enumerate(picked):
        n = rows.lengths[r]
        ids[i, :n] = rows.ids[offsets[r] : offsets[r] + n]
        types[i, rows.second[r] : n] = 1
        mask[i, :n] = 1
    return {
        "input_ids": torch.from_numpy(ids),
        "attention_mask": torch.from_numpy(mask),
        "token_type_ids": torch.from_numpy(types),
        "start_positions": torch.from_numpy(rows.starts[picked].astype(np.int64)),
        "end_positions": torch.from_numpy(rows.ends[picked].astype(np.int64)),
    }


def lr_factor(step: int, total: int, warmup_share: float) -> float:
    """Linear warm-up, then linear decay to zero at ``total``."""
    warmup = max(1, int(warmup_share * total))
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


class Trainer:
    """Runs epochs of optimizer steps over ``epoch_rows(epoch)`` and saves its state in ``work``."""

    def __init__(self, model, config: TrainConfig, work: Path, log: Callable[[str], None] = print):
        import torch

        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)  # dropout; a resumed run restores the saved state instead
        self.model, self.config, self.work, self.log = model, config, work, log
        if config.freeze_word_embeddings:
            # half the weights; AdamW's update of them costs about as much as a backward pass
            model.get_input_embeddings().weight.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        self.progress = Progress()

    # --- state ------------------------------------------------------------------------------------
    def resume(self) -> bool:
        """Load the last saved state, if there is one; True when training continues from it."""
        import torch

        state = self.work / STATE_DIR
        if not (state / PROGRESS_FILE).exists():
            return False
        from safetensors.torch import load_file

        self.model.load_state_dict(load_file(str(state / "model.safetensors")), strict=False)
        self.optimizer.load_state_dict(torch.load(state / OPTIMIZER_FILE, weights_only=True))
        if (state / RNG_FILE).exists():
            torch.set_rng_state(torch.load(state / RNG_FILE, weights_only=True))
        self.progress = Progress(**json.loads((state / PROGRESS_FILE).read_text()))
        self.log(
            f"resumed at epoch {self.progress.epoch + 1}, batch {self.progress.batch}, step {self.progress.step}"
        )
        return True

    def save_state(self) -> None:
        import torch

        tmp = self.work / f"{STATE_DIR}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        self.model.save_pretrained(str(tmp))
        torch.save(self.optimizer.state_dict(), tmp / OPTIMIZER_FILE)
        torch.save(torch.get_rng_state(), tmp / RNG_FILE)
        (tmp / PROGRESS_FILE).write_text(json.dumps(asdict(self.progress)))
        old = self.work / f"{STATE_DIR}.old"
        shutil.rmtree(old, ignore_errors=True)
        if (self.work / STATE_DIR).exists():
            (self.work / STATE_DIR).rename(old)
        tmp.rename(self.work / STATE_DIR)
        shutil.rmtree(old, ignore_errors=True)

    def save_checkpoint(self, name: str) -> Path:
        path = self.work / name
        self.model.save_pretrained(str(path))
        (path / PROGRESS_FILE).write_text(json.dumps(asdict(self.progress)))
        return path

    # --- training ---------------------------------------------------------------------------------
    def plan(self, pairs_per_epoch: int) -> None:
        """Steps the learning rate decays over: every epoch's batches, or fewer by max_steps."""
        if self.progress.planned_steps:
            return  # a resumed run keeps its schedule
        steps = math.ceil(pairs_per_epoch / self.config.batch_size) * self.config.epochs
        self.progress.planned_steps = min(steps, self.config.max_steps or steps)

    def run(self, epoch_rows: Callable[[int], TokenRows], on_epoch_end: Callable[[int, Path], None]) -> None:
        """Train to the planned step count (or the time budget), calling ``on_epoch_end(epoch,
        checkpoint)`` after each finished epoch."""
        if self.progress.epoch >= self.config.epochs:
            return  # a resumed run that had finished: nothing left to train
        rows = epoch_rows(self.progress.epoch)
        self.plan(len(rows))
        while self.progress.epoch < self.config.epochs and not self.done:
            # a schedule cut by max_steps ends its last epoch early; that is still a finished run
            finished = self.run_epoch(rows) or self.schedule_complete
            if not finished:
                break
            epoch = self.progress.epoch
            checkpoint = self.save_checkpoint(f"epoch-{epoch + 1}")
            self.progress.epoch, self.progress.batch = epoch + 1, 0
            self.save_state()
            on_epoch_end(epoch, checkpoint)
            if self.progress.epoch < self.config.epochs and not self.done:
                rows = epoch_rows(self.progress.epoch)
        self.save_state()

    @property
    def done(self) -> bool:
        return self.progress.step >= self.progress.planned_steps or self.out_of_time

    @property
    def schedule_complete(self) -> bool:
        return self.progress.planned_steps > 0 and self.progress.step >= self.progress.planned_steps

    @property
    def out_of_time(self) -> bool:
        budget = self.config.max_train_minutes
        return budget is not None and self.progress.seconds >= 60 * budget

    def run_epoch(self, rows: TokenRows) -> bool:
        """Steps over one epoch's batches from where it stands; True when the epoch was finished."""
        order = bucketed_batches(
            rows.lengths, self.config.batch_size, self.config.seed * 1000 + self.progress.epoch
        )
        offsets, saved = rows.offsets, time.monotonic()
        self.model.train()
        for picked in order[self.progress.batch :]:
            if self.done:
                return False
            loss = self.step(batch_tensors(rows, offsets, picked))
            self.progress.batch += 1
            self.progress.pairs_seen += len(picked)
            self.after_step(loss)
            if time.monotonic() - saved > self.config.save_every_s:
                self.save_state()  # a crash or a kill keeps all but the last few minutes
                saved = time.monotonic()
        return True

    def after_step(self, loss: float) -> None:
        p, every = self.progress, self.config.snapshot_every_steps
        if p.step % LOG_EVERY_STEPS == 0:
            rate = p.pairs_seen / max(p.seconds, 1e-9)
            self.log(
                f"epoch {p.epoch + 1} step {p.step}/{p.planned_steps} loss {loss:.3f} "
                f"{rate:.1f} pairs/s, {p.seconds / 60:.1f} min"
            )
        if every and p.step % every == 0:
            self.save_checkpoint(f"step-{p.step:06d}")

    def step(self, batch: dict) -> float:
        import torch

        tick = time.monotonic()
        factor = lr_factor(self.progress.step, self.progress.planned_steps, self.config.warmup_share)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.learning_rate * factor
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.config.bf16):
            loss = self.model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP_GRAD_NORM)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress.step += 1
        self.progress.seconds += time.monotonic() - tick
        return float(loss.detach())
