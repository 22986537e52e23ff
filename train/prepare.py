"""Before a run starts: its output folder and, with --resume, its checkpoint, checked.

    cfg, ckpt, method, replace = prepare_run(cfg, given, script)

A resumed run takes its config from the checkpoint (only the flags of RESUMABLE_CHANGES may
differ); a fresh one is checked (train/config.check_config) and may replace only a folder a
script of this project made (common/runfolder.py), and only with --overwrite.
"""
from __future__ import annotations

import dataclasses

from common.cli import check_out_folder
from common.errors import UserError
from common.runfolder import check_replace, check_resume, holds_files
from train.checkpoint import open_checkpoint, read_checkpoint
from train.config import RESUMABLE_CHANGES, check_config
from train.distributed import DistInfo


def prepare_run(cfg, given: set[str], script: str, info: DistInfo = DistInfo()):
    """Check --resume / --overwrite against the output folder (common/runfolder.py: only a folder a script made);
    returns (config, checkpoint or None, the checkpoint's method with its weights or None, whether --out
    is to be replaced). Every rank checks; `_train` deletes, once the run's data and model are checked too."""
    out = check_out_folder(cfg.out)
    ckpt_path = out / "ckpt.pt"
    if cfg.resume:
        ckpt = read_checkpoint(ckpt_path)
        if ckpt["script"] != script:
            raise UserError(f"{ckpt_path} was written by {ckpt['script']}.py, not {script}.py: resume it with that script")
        check_resume(out)  # after the checkpoint's own checks, which say what is wrong with it
        saved = ckpt["config"]
        for name in sorted(given - RESUMABLE_CHANGES - {"out"}):
            if saved.get(name) != getattr(cfg, name):
                raise UserError(f"--{name.replace('_', '-')} {getattr(cfg, name)} differs from the checkpoint's "
                                f"{saved.get(name)}: drop the flag to resume, or use a new --out")
        # --out is where the checkpoint was found: a moved or copied run folder goes on there
        changes = {name: getattr(cfg, name) for name in (given & RESUMABLE_CHANGES) | {"out"}}
        known = {f.name for f in dataclasses.fields(cfg)}
        cfg = type(cfg)(**{**{k: v for k, v in saved.items() if k in known}, **changes})
        _, method = open_checkpoint(ckpt_path, ckpt, dataclasses.asdict(cfg))
        return cfg, ckpt, method, False
    check_config(cfg)  # a resumed run's config was checked when it began
    replace = holds_files(out)
    if replace:
        if not cfg.overwrite:
            raise UserError(f"output folder {out} already exists: pass --resume to continue it, "
                            "--overwrite to replace it, or another --out")
        check_replace(out)
    return cfg, None, None, replace
