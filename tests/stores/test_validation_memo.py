"""A process keeps the layer data it validated (same bytes, same result), within bounds:
every new version of a layer is new bytes, and a long-running server must not keep
them all."""

from layers.catalogue.entries import get_layer
from layers.catalogue.validate import Problem
from layers.stores import layers


def _memo_features() -> int:
    return sum(len(valid) for valid, _ in layers._validated.values())


def test_the_same_bytes_are_validated_once(monkeypatch):
    monkeypatch.setattr(layers, "_validated", type(layers._validated)())
    venues = get_layer("venues")
    calls = []

    def validate():
        calls.append(1)
        return [], [Problem("x", None, "bad")]

    first = layers.validated_once(venues, "venues v1", b"abc", None, validate)
    again = layers.validated_once(venues, "venues v1", b"abc", None, validate)
    assert first == again and len(calls) == 1
    layers.validated_once(venues, "venues v2", b"abd", None, validate)
    assert len(calls) == 2


def test_the_memo_keeps_at_most_its_share_of_features(monkeypatch):
    monkeypatch.setattr(layers, "_validated", type(layers._validated)())
    monkeypatch.setattr(layers, "MEMO_FEATURES", 10)
    venues = get_layer("venues")
    calls = []

    def validate(n):
        def run():
            calls.append(n)
            return [object()] * n, []  # stand-ins: the memo only counts them
        return run

    for version in range(1, 6):  # 4 features a version: two versions fit
        layers.validated_once(venues, f"venues v{version}", bytes([version]), None,
                              validate(4))
        assert _memo_features() <= 10
    assert len(layers._validated) == 2
    layers.validated_once(venues, "big", b"big", None, validate(11))  # over: not kept
    layers.validated_once(venues, "big", b"big", None, validate(11))
    assert calls[-2:] == [11, 11] and _memo_features() <= 10
