from pathlib import Path

import pytest

from mouthsync.core.cache import cache_dir, cache_key, cache_path, file_digest


def test_key_follows_content_and_settings(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.bin", tmp_path / "renamed.bin", tmp_path / "c.bin"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    c.write_bytes(b"other bytes")
    k = cache_key("track", a, {"v": "1"})
    assert cache_key("track", b, {"v": "1"}) == k  # renamed file hits
    assert cache_key("track", c, {"v": "1"}) != k  # changed content misses
    assert cache_key("track", a, {"v": "2"}) != k  # changed algorithm version misses
    assert cache_key("phones", a, {"v": "1"}) != k
    assert file_digest(a) == file_digest(b) != file_digest(c)


def test_cache_can_be_switched_off(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MOUTHSYNC_CACHE", "off")
    assert cache_dir() is None and cache_path("k", ".npz") is None
    monkeypatch.setenv("MOUTHSYNC_CACHE", str(tmp_path / "c"))
    assert cache_path("k", ".npz") == tmp_path / "c" / "k.npz"
    assert (tmp_path / "c").is_dir()


@pytest.mark.parametrize("size", [0, 1, (1 << 20) + 7])
def test_digest_is_chunk_independent(tmp_path: Path, size: int) -> None:
    import hashlib

    data = bytes(i % 251 for i in range(size))
    p = tmp_path / "x"
    p.write_bytes(data)
    assert file_digest(p) == hashlib.sha256(data).hexdigest()
