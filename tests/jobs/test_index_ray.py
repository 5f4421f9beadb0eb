"""`textlens index create|refresh --ray`: the embedding step on a real local Ray cluster gives
the vectors the connection's own embed() gives, and a refresh still embeds only what
changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.ray_local import tiny_ray_toml

pytestmark = pytest.mark.ray
pytest.importorskip("ray.data", reason="needs textlens[ray] (pip install 'textlens[ray]')")

ROWS = 3000


def vectors(con: Any, name: str) -> dict[int, np.ndarray]:
    rows = con.execute(f'SELECT id, vector FROM textlens_index."{name}" ORDER BY id').fetchall()
    return {int(i): np.asarray(v, dtype=np.float32) for i, v in rows}


def test_ray_embeds_the_same_vectors_and_only_what_changed(
    ray_local: Any, tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    import duckdb

    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.search import create_index, refresh_index
    from textlens.jobs.index_ray import ray_embedder
    from textlens.jobs.ray_enrich import RayOptions

    config = tmp_path / "textlens.toml"
    config.write_text(tiny_ray_toml(tiny_models_dir), encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        f"CREATE TABLE docs AS SELECT i AS id, CASE WHEN i % 101 = 0 THEN NULL ELSE "
        f"'document ' || i || ' about the ' || ['phone', 'bank', 'film'][i % 3 + 1] END AS body "
        f"FROM range({ROWS}) t(i)"
    )
    reg = register(con, config=str(config), mode="embedded")
    try:
        on_ray = ray_embedder(RayOptions(actors=2, num_cpus=0.5), config=config, progress=False)
        made = create_index(reg, "by_ray", "docs", "id", "body", embedder=on_ray, progress=False)
        local = create_index(reg, "local", "docs", "id", "body", progress=False)
        assert made.vectors == local.vectors == ROWS - 30 and made.skipped == 30
        ray_vectors, local_vectors = vectors(con, "by_ray"), vectors(con, "local")
        assert ray_vectors.keys() == local_vectors.keys()
        for ident, vector in local_vectors.items():
            np.testing.assert_allclose(ray_vectors[ident], vector, atol=1e-5)

        con.execute("UPDATE docs SET body = body || ' (edited)' WHERE id % 100 = 7")
        result = refresh_index(reg, "by_ray", embedder=on_ray, progress=False)
        # 30 ids end in 07, and 707 is one of the NULL texts (a multiple of 101): 29 changed
        assert (result.computed, result.removed, result.vectors) == (29, 29, ROWS - 30)
        edited = con.execute("SELECT body FROM docs WHERE id = 7").fetchall()[0][0]
        expected = con.execute("SELECT embed(?)", [edited]).fetchall()[0][0]
        np.testing.assert_allclose(vectors(con, "by_ray")[7], expected, atol=1e-5)
    finally:
        reg.close()
        con.close()
