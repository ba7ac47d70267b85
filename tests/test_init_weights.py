"""The network's starting weights: the authors' seeded draw, the learned start shipped in the package, a user's file."""

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from napari_zssr import ZSSRConfig, zssr
from napari_zssr.core import init_weights
from napari_zssr.core.geometry import scale_symmetries
from napari_zssr.core.init_weights import (
    INFO_KEY,
    LEARNED_SHA256,
    LEARNED_WEIGHTS,
    file_sha256,
    learned_weights_path,
    save_weights,
    weights_path,
)
from napari_zssr.core.network import ZSSRNet

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def weights_info(init: str) -> dict:
    """The training record stored in a weights file ("learned" or a path)."""
    with np.load(weights_path(init), allow_pickle=False) as archive:
        return json.loads(str(archive[INFO_KEY][()]))


def weights_hash(net: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for tensor in net.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_scratch_draws_the_same_weights_as_before_the_learned_start():
    """The authors' initialisation from seed 0, as every earlier version drew it (hash recorded before the change)."""
    net = ZSSRNet.create(ZSSRConfig(init="scratch"), seed=0)
    assert weights_hash(net) == "30df006ebfea40e6420cd60ea51cf01532a18712ac79f4ad622ac369842a651c"
    assert ZSSRConfig().init == "scratch" and ZSSRConfig.preset("paper").init == "scratch"


def test_shipped_weights_load_and_match_their_checksum():
    path = learned_weights_path()
    assert path.is_file() and file_sha256(path) == LEARNED_SHA256
    net = ZSSRNet.create(ZSSRConfig(init="learned"), seed=0)
    assert weights_hash(net) != weights_hash(ZSSRNet.create(ZSSRConfig(), seed=0))
    assert all(torch.isfinite(t).all() for t in net.state_dict().values())
    info = weights_info("learned")
    assert info["method"] and info["steps"] > 0 and "train_init.py" in info["command"]


def test_a_damaged_shipped_file_is_refused(monkeypatch):
    monkeypatch.setattr(init_weights, "LEARNED_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="does not match its checksum"):
        ZSSRNet.create(ZSSRConfig(init="learned"), seed=0)


def test_a_weights_file_path_loads(tmp_path, monkeypatch):
    trained = ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=5)
    path = tmp_path / "start.npz"
    save_weights(trained, path, {"method": "test"})
    config = ZSSRConfig(width=8, depth=3, init=str(path))
    assert weights_hash(ZSSRNet.create(config, seed=0)) == weights_hash(trained)
    assert ZSSRConfig(width=8, depth=3, init=path).init == str(path.resolve())  # as text (TIFF Info is JSON)
    monkeypatch.chdir(path.parent)  # a relative path is recorded absolute: it must name the file from any folder
    assert ZSSRConfig(width=8, depth=3, init=path.name).init == str(path.resolve())
    (tmp_path / "link.npz").symlink_to(path)  # through a link (/home -> /gpfs/home): one file, one setting
    assert ZSSRConfig(width=8, depth=3, init=tmp_path / "link.npz").init == str(path.resolve())
    image = np.random.default_rng(0).random((16, 16))
    result = zssr(image, 2, config=ZSSRConfig(width=8, depth=3, init=str(path), max_iterations=2))
    assert result.sr.shape == (32, 32) and result.config.init == str(path.resolve())
    # the path alone does not say which weights: a file trained again under its name starts another run
    assert result.metadata()["init_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert zssr(image, 2, config=ZSSRConfig(width=8, depth=3, max_iterations=2)).metadata()["init_sha256"] is None


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"ZSSRConfig.init .*no such file"):
        ZSSRConfig(init=str(tmp_path / "missing.npz"))
    with pytest.raises(TypeError, match="ZSSRConfig.init"):
        ZSSRConfig(init=3)


def test_weights_of_the_wrong_shape_are_a_clear_error(tmp_path):
    path = tmp_path / "narrow.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=0), path, {})
    with pytest.raises(ValueError, match=r"does not fit the network .*3 layers 1->8, 8->8, 8->1"):
        ZSSRNet.create(ZSSRConfig(init=str(path)), seed=0)
    deep = tmp_path / "deep.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(width=8, depth=40), seed=0), deep, {})
    with pytest.raises(ValueError, match=r"holds 40 layers of width 8 \(1->8 ... 8->1, kernels 3x3\), the network "
                                         r"needs 8 layers of width 64 \(1->64 ... 64->1, kernels 3x3\); set the width "
                                         "and depth it was trained with, or init='scratch'$"):
        ZSSRNet.create(ZSSRConfig(init=str(deep)), seed=0)


def test_the_shipped_start_is_of_the_network_the_config_says():
    from napari_zssr.core.config import LEARNED_DEPTH, LEARNED_WIDTH

    net = ZSSRNet.create(ZSSRConfig(width=LEARNED_WIDTH, depth=LEARNED_DEPTH, init="learned"), seed=0)
    assert sum(1 for name in net.state_dict() if name.endswith("weight")) == LEARNED_DEPTH
    assert next(iter(net.state_dict().values())).shape[0] == LEARNED_WIDTH


@pytest.mark.parametrize("changed", [{"width": 32}, {"depth": 100}])
def test_the_learned_start_with_another_network_is_refused_at_once(changed):
    """It failed only when the first plane's net was made, after any kernel work, and listed every layer."""
    with pytest.raises(ValueError, match=r"^ZSSRConfig.init 'learned' is a start for the network of width 64 and "
                                         r"depth 8, got width .*: keep those, or use init='scratch'"):
        ZSSRConfig.preset("fast", **changed)
    assert ZSSRConfig.preset("fast", init="scratch", **changed).init == "scratch"


def test_a_file_that_is_not_a_weights_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match="cannot read the weights file"):
        ZSSRNet.create(ZSSRConfig(init=str(path)), seed=0)


def test_a_pytorch_checkpoint_or_object_arrays_are_a_clear_error_naming_the_file(tmp_path):
    """A torch.save checkpoint is a zip, which numpy opens as a .npz whose members come as bytes ("'bytes' object has
    no attribute 'shape'"); object arrays raised numpy's "allow_pickle=False" without the file's name."""
    torch.save({"weight": torch.zeros(3)}, tmp_path / "start.pt")
    np.savez(tmp_path / "objects.npz", weight=np.array([{"a": 1}], dtype=object))
    content = (tmp_path / "start.pt").read_bytes()
    (tmp_path / "cut.npz").write_bytes(content[: len(content) // 2])  # a copy cut short: zipfile's BadZipFile
    (tmp_path / "empty.npz").write_bytes(b"")  # numpy's EOFError
    for name, why in [("start.pt", "a PyTorch checkpoint"), ("objects.npz", "not a .npz archive of arrays"),
                      ("cut.npz", "not a .npz archive of arrays"), ("empty.npz", "not a .npz archive of arrays")]:
        with pytest.raises(ValueError, match=rf"cannot read the weights file .*{re.escape(name)}: .*{why}"):
            ZSSRNet.create(ZSSRConfig(init=str(tmp_path / name)), seed=0)


def training_program(monkeypatch):
    """scripts/train_init.py as a module (it imports its neighbour init_corpus.py)."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("train_init", SCRIPTS / "train_init.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_init", module)
    spec.loader.exec_module(module)
    return module


def test_the_training_program_writes_a_loadable_start(tmp_path, monkeypatch):
    module = training_program(monkeypatch)
    out = tmp_path / "start.npz"
    module.main(["--out", str(out), "--steps", "3", "--batch", "2", "--tasks", "3", "--generated", "2",
                 "--no-pictures", "--report-every", "3"])
    net = ZSSRNet.create(ZSSRConfig(init=str(out)), seed=0)
    assert weights_hash(net) != weights_hash(ZSSRNet.create(ZSSRConfig(), seed=0))  # it trained
    assert weights_info(str(out))["steps"] == 3


def test_training_tasks_draw_their_pairs_transforms_as_runs_do_or_as_the_shipped_start_was_trained(monkeypatch):
    module = training_program(monkeypatch)
    image, config, fewer = [np.random.default_rng(0).random((64, 64))], ZSSRConfig(), 0
    for seed in range(30):
        task = module.random_task(np.random.default_rng(seed), image, 16, config)
        old = module.random_task(np.random.default_rng(seed), image, 16, config, "kernel")
        assert task.sampler.transforms == scale_symmetries(task.sampler.degradation.scale)
        assert set(old.sampler.transforms) <= set(task.sampler.transforms)
        fewer += len(old.sampler.transforms) < len(task.sampler.transforms)
    assert fewer > 0  # some kernels (tilted Gaussians) keep fewer transforms than their scale does


def test_reptile_moves_the_start_towards_the_adapted_weights(tmp_path, monkeypatch):
    module = training_program(monkeypatch)
    first, out = tmp_path / "first.npz", tmp_path / "start.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(), seed=3), first, {"method": "test"})
    module.main(["--out", str(out), "--method", "reptile", "--start", str(first), "--steps", "2", "--tasks", "2",
                 "--generated", "2", "--no-pictures", "--inner-steps", "2", "--inner-crop", "32", "--meta-batch", "2",
                 "--report-every", "2"])
    started = ZSSRNet.create(ZSSRConfig(init=str(first)), seed=0)
    moved = ZSSRNet.create(ZSSRConfig(init=str(out)), seed=0)
    change = max(float((a - b).abs().max()) for a, b in zip(moved.parameters(), started.parameters(), strict=True))
    assert 0 < change < 0.05  # a step of at most meta-lr x (4 Adam steps of lr 1e-3) per weight
    info = weights_info(str(out))
    assert info["method"].startswith("Reptile") and info["start"] == str(first) and info["inner_steps"] == 2



def test_reptile_moves_each_tasks_pairs_to_the_networks_device(monkeypatch):
    """The tasks draw their pairs on the CPU; with --device cuda the adaptation steps must get them on the GPU (they
    were given the CPU pairs: torch's device error at the first step). The device here is "meta", which any tensor
    can be moved to, and the step only records where its pairs are."""
    module = training_program(monkeypatch)
    image, config = [np.random.default_rng(0).random((64, 64))], ZSSRConfig()
    tasks = [module.random_task(np.random.default_rng(seed), image, 16, config) for seed in range(2)]
    devices = []
    monkeypatch.setattr(module, "training_step",
                        lambda net, optimizer, scaler, son, father, dtype: devices.append((son.device, father.device)))
    args = SimpleNamespace(meta_lr=0.5, steps=1, meta_batch=2, learning_rate=1e-3, inner_steps=2, inner_crop=16)
    module.reptile_step(ZSSRNet(1, 4, 3), args, torch.float32, torch.device("meta"))(1, tasks, np.random.default_rng(0))
    assert devices and all(device.type == "meta" for pair in devices for device in pair)

def test_the_training_program_learns_a_start_conditioned_on_the_kernel(tmp_path, monkeypatch):
    module = training_program(monkeypatch)
    first, out = tmp_path / "first.npz", tmp_path / "conditioned.npz"
    save_weights(ZSSRNet.create(ZSSRConfig(), seed=3), first, {"method": "test"})
    module.main(["--out", str(out), "--conditioned", "--start", str(first), "--steps", "3", "--batch", "4",
                 "--tasks", "4", "--generated", "2", "--no-pictures", "--report-every", "3"])
    with np.load(out) as archive:
        assert any(name.startswith(init_weights.CONDITIONING_PREFIX) for name in archive.files)
    bicubic = ZSSRNet.create(ZSSRConfig(init=str(out)), seed=0)
    blurred = ZSSRNet.create(ZSSRConfig(init=str(out)), seed=0, kernel=np.full((5, 5), 1 / 25))
    assert not torch.equal(bicubic.body[0].weight, blurred.body[0].weight)  # the gains moved from the identity
    info = weights_info(str(out))
    assert info["method"].endswith("conditioned on the degradation") and info["start"] == str(first)
    assert info["start_sha256"] == init_weights.file_sha256(first)  # the start is known after its file is gone
    with pytest.raises(SystemExit):  # plain training would drop the conditioning: refused before any work
        module.main(["--out", str(tmp_path / "again.npz"), "--start", str(out)])
    again = tmp_path / "again.npz"  # a conditioned start goes on training, from exactly where it was
    module.main(["--out", str(again), "--conditioned", "--start", str(out), "--steps", "1", "--batch", "4",
                 "--tasks", "4", "--generated", "2", "--no-pictures", "--learning-rate", "1e-12"])
    continued = ZSSRNet.create(ZSSRConfig(init=str(again)), seed=0, kernel=np.full((5, 5), 1 / 25))
    for before, after in zip(blurred.parameters(), continued.parameters(), strict=True):
        torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-6)


def test_pairs_drawn_in_worker_processes_train_a_reproducible_start(tmp_path, monkeypatch):
    module = training_program(monkeypatch)
    arguments = ["--steps", "4", "--batch", "2", "--tasks", "4", "--generated", "2", "--no-pictures",
                 "--report-every", "4", "--workers", "2", "--conditioned"]
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    module.main(["--out", str(first), *arguments])
    module.main(["--out", str(second), *arguments])
    with np.load(first) as a, np.load(second) as b:
        arrays = [name for name in a.files if name != init_weights.INFO_KEY]
        assert all(np.array_equal(a[name], b[name]) for name in arrays)  # the same seed and worker count
    trained = ZSSRNet.create(ZSSRConfig(init=str(first)), seed=0)
    assert weights_hash(trained) != weights_hash(ZSSRNet.create(ZSSRConfig(), seed=0))
    info = weights_info(str(first))
    assert info["workers"] == 2 and info["tasks_per_worker"] == 2 and info["device"] == "cpu" and info["steps"] == 4
    with pytest.raises(SystemExit):  # Reptile adapts to whole tasks: it draws its pairs itself
        module.main(["--out", str(tmp_path / "reptile.npz"), "--method", "reptile", "--workers", "2"])


def test_a_start_holding_nan_is_refused_before_any_work(tmp_path, monkeypatch):
    """A start written by a diverged training ran in full, then failed as 'training diverged: lower learning_rate'."""
    from napari_zssr import api

    net = ZSSRNet.create(ZSSRConfig(width=8, depth=3), seed=0)
    with pytest.raises(ValueError, match=r"not written: the weights' .* NaN or infinite values"):
        with torch.no_grad():
            next(net.parameters()).fill_(float("nan"))
        save_weights(net, tmp_path / "refused.npz", {})
    assert not (tmp_path / "refused.npz").exists()
    arrays = {name: tensor.numpy() for name, tensor in ZSSRNet.create(ZSSRConfig(), seed=0).state_dict().items()}
    arrays[next(iter(arrays))][0] = np.nan
    np.savez(tmp_path / "diverged.npz", **arrays)
    config = ZSSRConfig(init=str(tmp_path / "diverged.npz"))
    monkeypatch.setattr(api, "run_kernels", lambda *args, **kwargs: pytest.fail("the kernel came first"))
    with pytest.raises(ValueError, match=r"cannot read the weights file .*holds NaN or infinite values"):
        zssr(np.random.default_rng(0).random((32, 32)), 2, kernel="estimate", config=config)


def test_a_folder_given_as_the_start_is_said_to_be_one(tmp_path):
    with pytest.raises(ValueError, match="a folder; give the .npz file in it"):
        ZSSRConfig(init=str(tmp_path))


@pytest.mark.parametrize(("options", "said"), [
    (["--renew-every", "0"], "--renew-every 0: give 1 or more"),
    (["--tasks", "0"], "--tasks 0: give 1 or more"),
    (["--generated", "0", "--no-pictures"], "the corpus would be empty"),
    (["--crop", "25"], "--crop 25: give a multiple of 12"),
    (["--device", "cuda:7"], "--device cuda:7: "),
    (["--start", "missing.npz"], "--start: cannot read the weights file"),
])
def test_the_training_program_refuses_bad_options_before_its_corpus(tmp_path, monkeypatch, capsys, options, said):
    """Each failed after the corpus was built or the training ran (a ZeroDivisionError, numpy's "high <= 0", torch's
    size mismatch, an IsADirectoryError at the save of 12,000 steps)."""
    module = training_program(monkeypatch)
    monkeypatch.setattr(module, "corpus", lambda *args: pytest.fail("built the corpus"))
    with pytest.raises(SystemExit):
        module.main(["--out", str(tmp_path / "w.npz"), *options])
    assert said in capsys.readouterr().err
    with pytest.raises(SystemExit):
        module.main(["--out", str(tmp_path)])  # a folder
    assert "give a file in a folder that exists and can be written" in capsys.readouterr().err


def test_the_learned_start_loads_from_a_zip_archive_the_package_is_imported_from(tmp_path, monkeypatch):
    """A zipapp or a wheel put on ``sys.path``: the weights are a member of the archive, with no file on disk."""
    import zipfile

    archive = tmp_path / "napari_zssr.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"napari_zssr/weights/{LEARNED_WEIGHTS}", learned_weights_path().read_bytes())
    monkeypatch.setattr(init_weights.resources, "files", lambda package: zipfile.Path(archive, f"{package}/"))
    assert not Path(str(learned_weights_path())).exists()
    net = ZSSRNet.create(ZSSRConfig(init="learned"), seed=0)
    assert all(torch.isfinite(t).all() for t in net.state_dict().values())
