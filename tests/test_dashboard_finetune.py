"""Fine-tuning from the dashboard state: the real ATLAS checkpoint, a small real catalog, one epoch."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.catalog import load_catalog
from explorer.dashboard.state import ExplorerState, ResultCache
from explorer.errors import ExplorerError

pytest.importorskip("torch", reason="fine-tuning needs PyTorch (the test and train extras install it)")


@pytest.fixture(scope="module")
def atlas_home(tmp_path_factory, shared_models):
    """A private store with the ATLAS checkpoint converted by our converter, and no Hub cache."""
    from explorer.convert import import_checkpoint

    home = tmp_path_factory.mktemp("lcx_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCEXPLORER_HOME", str(home))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf")))
        import_checkpoint(shared_models / "checkpoints" / "atlas.zip", name="astromer1-atlas", verify=False)
        yield home


def test_fine_tune_installs_a_model_the_map_can_use(atlas_home, shared_data):
    cat = load_catalog(shared_data / "eros1_lmc")
    cat = cat.take(np.sort(cat.objects.groupby("label").head(6).index.to_numpy()))
    st = ExplorerState(cat, model="astromer1-atlas", embed_cache=ResultCache(), map_cache=ResultCache(),
                       labels_path=atlas_home / "labels" / "ft.labels.csv")
    st.refresh_models()
    st.bands = ["R"]
    with pytest.raises(ExplorerError, match="name"):
        st.fine_tune("")
    # one epoch at the default rate does not beat the base model here (0.3424 -> 0.3436): nothing installed
    history = st.fine_tune("atlas-ft-none", epochs=1, batch_size=8)
    assert history.best_epoch == 0 and not st.model_available("atlas-ft-none")
    assert "not installed" in st.status and "atlas-ft-none" in st.status
    history = st.fine_tune("atlas-ft-test", epochs=1, lr=1e-3, batch_size=8)  # 0.3424 -> 0.3406: installed
    assert history.epochs == [1] and np.isfinite(history.val_loss).all() and history.best_epoch == 1
    assert st.finetune_history is history
    assert st.model_available("atlas-ft-test") and "atlas-ft-test" in st.status
    st.model = "atlas-ft-test"
    st.run()
    assert st.embedding.spec.model == "atlas-ft-test" and st.map.stage == "umap"
    from explorer.store import get_entry

    training = get_entry("atlas-ft-test").card["training"]
    assert training["base_model"] == "astromer1-atlas" and training["catalog"]["objects"] == len(cat)
